"""The arc page's inline (htmx) updates: a fragment for htmx, a redirect without JavaScript."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from arcs.models import AccessLogEntry, Measurement, ProgressNote
from tests.arcs.factories import CareSetting

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def measure_data(care, value="4.5", day=None):
    return {
        "measure": care.goal.measure.pk,
        "value": value,
        "measured_on": (day or timezone.localdate()).isoformat(),
    }


def test_measure_recorded_with_htmx_returns_the_form_and_the_new_chart_out_of_band(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:measurement_add", args=[care.arc.pk]), measure_data(care), **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('id="measure-section"') == 1
    assert "Measure recorded." in html
    assert '<div id="arc-goals" hx-swap-oob="true">' in html
    assert 'data-value="4.5"' in html
    assert "<html" not in html
    assert Measurement.objects.filter(arc=care.arc).count() == 1
    assert AccessLogEntry.objects.filter(record_type="measurement").count() == 1


def test_measure_recorded_without_htmx_redirects_to_the_arc_page(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(reverse("arcs:measurement_add", args=[care.arc.pk]), measure_data(care))
    assert response.status_code == 302
    assert response.url == reverse("arcs:arc_detail", args=[care.arc.pk])
    assert Measurement.objects.filter(arc=care.arc).count() == 1


def test_bad_measure_with_htmx_shows_errors_in_the_fragment_and_records_nothing(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post(
        reverse("arcs:measurement_add", args=[care.arc.pk]),
        measure_data(care, day=tomorrow),
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "cannot be dated in the future" in html
    assert "hx-swap-oob" not in html
    assert "Measure recorded." not in html
    assert not Measurement.objects.exists()


def test_note_added_with_htmx_returns_the_notes_out_of_band(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:note_add", args=[care.arc.pk]),
        {"text": "Internal remark", "visibility": "internal"},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="note-section"' in html
    assert "Note added." in html
    assert 'id="arc-notes" hx-swap-oob="true"' in html
    assert "Internal remark" in html
    assert ProgressNote.objects.get().author == care.clinician.user


def test_empty_note_with_htmx_shows_the_error_and_adds_nothing(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    response = client.post(
        reverse("arcs:note_add", args=[care.arc.pk]), {"text": "", "visibility": "shared"}, **HTMX
    )
    html = response.content.decode()
    assert "This field is required" in html
    assert "hx-swap-oob" not in html
    assert not ProgressNote.objects.exists()


@pytest.mark.parametrize("view", ["arcs:measurement_add", "arcs:note_add"])
def test_inline_updates_refuse_outsiders_and_the_member(client, view):
    care = CareSetting()
    data = {**measure_data(care), "text": "x", "visibility": "shared"}
    client.force_login(care.outsider.user)
    assert client.post(reverse(view, args=[care.arc.pk]), data, **HTMX).status_code == 404
    client.force_login(care.member.user)
    assert client.post(reverse(view, args=[care.arc.pk]), data, **HTMX).status_code == 403
    client.force_login(care.clinician.user)
    assert client.post(reverse(view, args=[999_999]), data, **HTMX).status_code == 404
    assert not Measurement.objects.exists()
    assert not ProgressNote.objects.exists()


def test_arc_page_forms_post_inline_and_still_work_as_plain_forms(client):
    care = CareSetting()
    client.force_login(care.clinician.user)
    html = client.get(reverse("arcs:arc_detail", args=[care.arc.pk])).content.decode()
    measure_url = reverse("arcs:measurement_add", args=[care.arc.pk])
    assert f'action="{measure_url}"' in html
    assert f'hx-post="{measure_url}"' in html
    assert 'id="arc-goals"' in html and 'id="arc-notes"' in html
    assert "hx-on" not in html and "<script>" not in html
