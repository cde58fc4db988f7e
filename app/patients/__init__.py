"""Patients of a network. Every read, search and change of a patient is audit-logged."""
from flask import Blueprint

bp = Blueprint("patients", __name__)

from app.patients import views  # noqa: E402, F401
