from tests.conftest import login, make_member, make_network, make_patient
from app.networks.models import Role


def test_coordinator_signs_in_and_sees_patient(client):
    network = make_network("zk")
    coordinator = make_member(network, "coo@example.nl", role=Role.COORDINATOR)
    patient = make_patient(network)
    login(client, coordinator.user)
    response = client.get(f"/n/zk/patients/{patient.id}")
    assert response.status_code == 200
    assert "Jansen" in response.get_data(as_text=True)
