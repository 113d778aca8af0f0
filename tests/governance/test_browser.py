import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from clinic.roles import Role
from governance import services
from governance.models import NoticeDelivery
from tests.factories import PASSWORD, user_with_role
from tests.governance.factories import motion
from tests.members.factories import MemberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()


def local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_agm_notice_vote_receipt_and_published_results(live_server, page: Page):
    admin = user_with_role(Role.ADMINISTRATOR, email="office@example.org")
    member = MemberFactory(user__email="member@demo.coop")
    MemberFactory.create_batch(2)
    base = live_server.url
    now = timezone.now()

    # The administrator schedules an AGM with a motion and sends the notice.
    log_in(page, base, admin.email)
    page.get_by_role("link", name="Meetings and ballots").click()
    page.get_by_role("link", name="Schedule a meeting").click()
    page.get_by_label("Kind").select_option(label="Annual general meeting")
    page.get_by_label("Title").fill("Annual general meeting 2027")
    page.get_by_label("Starts").fill(local(now + datetime.timedelta(days=21)))
    page.get_by_label("Ends").fill(local(now + datetime.timedelta(days=21, hours=2)))
    page.get_by_label("Place").fill("Community hall")
    page.get_by_role("button", name="Schedule meeting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Annual general meeting 2027")
    page.get_by_label("Agenda item").fill("Approve the accounts")
    page.get_by_role("button", name="Add to agenda").click()
    page.get_by_role("link", name="Add a ballot").click()
    page.get_by_label("Title").fill("Approve the accounts")
    page.get_by_label("Record date").fill(
        (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    )
    page.get_by_label("Opens").fill(local(now))
    page.get_by_label("Closes").fill(local(now + datetime.timedelta(days=1)))
    page.get_by_role("button", name="Create ballot").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approve the accounts")
    page.get_by_role("link", name="Meetings and ballots").click()
    page.get_by_role("link", name="Annual general meeting 2027").click()
    page.get_by_role("button", name="Send notice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notice progress")
    expect(page.locator("#sent")).to_have_text("3")
    expect(page.locator("#remaining")).to_have_text("0")
    assert NoticeDelivery.objects.filter(member=member).exists()

    # ... and opens the ballot.
    page.get_by_role("link", name="Annual general meeting 2027").click()
    page.get_by_role("link", name="Approve the accounts").click()
    page.get_by_role("button", name="Open ballot").click()
    expect(page.get_by_text("Ballot open: 3 eligible voters.")).to_be_visible()
    log_out(page)

    # The member sees the open ballot at home, votes, confirms and gets a receipt.
    log_in(page, base, "member@demo.coop")
    expect(page.get_by_role("heading", level=1)).to_have_text("My membership")
    expect(page.get_by_text("You are eligible: vote now")).to_be_visible()
    page.get_by_role("link", name="Approve the accounts").click()
    page.get_by_role("link", name="Vote", exact=True).click()
    page.get_by_label("For", exact=True).check()
    page.get_by_role("button", name="Review my vote").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your vote")
    page.get_by_role("button", name="Cast my vote").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your vote is cast")
    receipt = page.locator("#receipt").inner_text().strip()
    assert len(receipt) == 14
    page.get_by_role("link", name="Back to the ballot").click()
    expect(page.get_by_text("You have voted.")).to_be_visible()
    log_out(page)

    # The administrator closes the ballot early.
    log_in(page, base, admin.email)
    page.get_by_role("link", name="Meetings and ballots").click()
    page.get_by_role("link", name="Approve the accounts").click()
    page.get_by_role("link", name="Close ballot now").click()
    expect(page.get_by_text("Voting ends now")).to_be_visible()
    page.get_by_role("button", name="Yes, close the ballot and publish the results").click()
    # Closing asks for the password again, then goes ahead with the confirmed request.
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("the results are published")).to_be_visible()
    log_out(page)

    # The member finds the receipt in the published results.
    log_in(page, base, "member@demo.coop")
    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Governance"
    ).click()
    page.get_by_role("link", name="Approve the accounts").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Results")
    expect(page.get_by_label("Receipts counted")).to_contain_text(receipt)
    page.get_by_label("Your receipt code").fill(receipt)
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_text("Your ballot is among those counted.")).to_be_visible()
    expect(page.get_by_text("The motion is carried.")).to_be_visible()


def test_a_member_follows_the_ballot_open_email_to_vote_and_checks_the_receipt(
    live_server, page: Page, settings
):
    settings.CLINIC_SITE_URL = live_server.url
    member = MemberFactory(user__email="voter@example.org")
    MemberFactory.create_batch(2)
    mail.outbox.clear()
    ballot = services.ballot_open(ballot=motion(title="Adopt the new fee tiers"))
    message = next(m for m in mail.outbox if m.to == [member.user.email])
    link = re.search(r"https?://\S+/governance/ballots/\d+/", message.body).group(0)
    assert link.startswith(live_server.url)

    # The link leads through the login straight to the ballot.
    page.goto(link)
    page.get_by_label("Email").fill(member.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Adopt the new fee tiers")
    page.get_by_role("link", name="Vote", exact=True).click()
    page.get_by_label("Against", exact=True).check()
    page.get_by_role("button", name="Review my vote").click()
    page.get_by_role("button", name="Cast my vote").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your vote is cast")
    receipt = page.locator("#receipt").inner_text().strip()

    services.ballot_close(ballot=ballot)
    page.goto(f"{live_server.url}/governance/ballots/{ballot.pk}/results/")
    # Typed the way people type codes: lower case, spaces instead of dashes.
    page.get_by_label("Your receipt code").fill(receipt.lower().replace("-", " "))
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_text("Your ballot is among those counted.")).to_be_visible()
    expect(page.get_by_role("img", name="Votes per option")).to_be_visible()
