def test_home_lists_regions_icbs_and_trusts(client, reference_data, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        response = client.get("/?on=2026-04-01")
    assert response.status_code == 200
    html = response.content.decode()
    assert "7 regions, 36 integrated care boards" in html
    assert "NHS Central East Integrated Care Board" in html
    assert "North Cheshire and Mersey NHS Foundation Trust" in html
    assert "https://" not in html.split("<body")[0], "no external assets in <head>"


def test_home_before_the_mergers(client, reference_data):
    html = client.get("/?on=2026-03-31").content.decode()
    assert "42 integrated care boards" in html
    assert "NHS Bedfordshire, Luton and Milton Keynes Integrated Care Board" in html


def test_bad_date_is_explained(client, reference_data):
    html = client.get("/?on=31/03/2026").content.decode()
    assert "is not a date as YYYY-MM-DD" in html


def test_admin_lists_trusts(admin_client, reference_data):
    response = admin_client.get("/admin/systems/trust/?peer_group__exact=ambulance")
    assert response.status_code == 200
    assert "10 trusts" in response.content.decode()
    assert admin_client.get("/admin/systems/integratedcareboard/").status_code == 200
    assert admin_client.get("/admin/systems/succession/").status_code == 200
    assert admin_client.get("/admin/systems/auditevent/").status_code == 200
