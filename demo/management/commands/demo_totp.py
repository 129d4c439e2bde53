from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from demo.management.commands.seed_demo import DEMO_STAFF


class Command(BaseCommand):
    help = "Print the demo staff user's current TOTP code (development only)."

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_totp works only with DEBUG on (the embedded demo).")
        device = TOTPDevice.objects.filter(user__email=DEMO_STAFF[0], confirmed=True).first()
        if device is None:
            raise CommandError("no demo staff device: run `manage.py seed_demo` first")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
