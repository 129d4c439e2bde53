"""The staff second factor (TOTP, django-otp)."""

import datetime as dt
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from audit.services import Actor, audit_record
from core.http import AuthenticatedHttpRequest, client_address

DEVICE_NAME = "staff-totp"


def staff_device(user: User) -> TOTPDevice:
    """The staff user's confirmed TOTP device, or the unconfirmed one they are enrolling."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
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
