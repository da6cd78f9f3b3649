"""
The guide "Write one message for every channel" shows what its example prints: it does.

The example is the very file the guide includes, run as a script.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "messages.py"

PRINTED = """\
Your order A-1042 is on its way
orders@boots.example
Hi Ana, your order A-1042 left our warehouse today.
The Lisbon Boots team

Track your parcel: https://boots.example/orders/A-1042
False
Lisbon Boots: order A-1042 shipped - on its way!
Track your parcel: https://boots.example/orders/A-1042
SmsInfo(encoding='GSM-7', segments=1, characters=103, units=103)
SmsInfo(encoding='UCS-2', segments=1, characters=50, units=51)
Order shipped / A-1042 is on its way
{'screen': 'order', 'order_id': 'A-1042', 'cta_url': 'https://boots.example/orders/A-1042', \
'cta_label': 'Track your parcel'}
True
TemplateRef(name='order_shipped', language='en_US', parameters=('Ana', 'A-1042'))
("overrides.sms.body: 'order_id' is undefined (line 1)",)
("body: 4 SMS segments (UCS-2, 244 characters); the brand allows at most 2; '\u2019' makes it \
UCS-2 (70 characters a segment instead of 160), and Brand(transliterate=True) would make it \
GSM-7",)
"""


def test_the_guide_example_prints_what_the_guide_says(capsys: pytest.CaptureFixture[str]) -> None:
    """Email, SMS, push and WhatsApp renditions, the SMS cost and the errors, as shown."""
    runpy.run_path(str(EXAMPLE), run_name="__main__")

    assert PRINTED == capsys.readouterr().out
