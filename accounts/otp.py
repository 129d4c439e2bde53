"""The staff second factor (TOTP, django-otp)."""

import datetime as dt
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.http import AuthenticatedHttpRequest
from accounts.models import User
from audit.services import Actor, audit_record
from core.http import client_address

DEVICE_NAME = "staff-totp"


def staff_device(user: User) -> TOTPDevice | None:
    """The staff user's confirmed TOTP device, or the enrolment an administrator issued to them.

    Enrolment is never self-service: whoever knew a staff password first would otherwise bind
    their own authenticator. An administrator issues it (`manage.py staff_otp_enrol EMAIL`, or a
    new unconfirmed TOTP device in the admin) and the staff user confirms it with a first code.
    """
    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device


def staff_otp_enrol(*, user: User, issued_by: str, now: dt.datetime) -> TOTPDevice:
    """Issue a new enrolment (replacing any unconfirmed one); the staff user confirms it at log-in."""
    if not user.is_staff:
        raise ValueError(f"{user.email} is not a staff user")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
        audit_record(actor=Actor.system(issued_by), action="staff.second_factor_issued", rule="EVD-2", obj=user, at=now)
    return device


def staff_device_qr_svg(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def staff_otp_verify(request: AuthenticatedHttpRequest, device: TOTPDevice, token: str, *, now: dt.datetime) -> bool:
    """Check a code (django-otp throttles repeated failures); mark the session verified on success."""
    if not device.verify_token(token.strip()):
        return False
    with transaction.atomic():
        if not device.confirmed:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            audit_record(
                actor=Actor.for_user(request.user, client_address=client_address(request)),
                action="staff.second_factor_enrolled",
                rule="EVD-2",
                obj=request.user,
                at=now,
            )
    otp_login(request, device)
    return True
