"""SMS through Acme's messaging API, as an omnikit connector (an example plugin)."""

from omnikit_acme_sms.sms import AcmeSMS

__all__ = ["AcmeSMS"]
