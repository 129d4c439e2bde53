"""usage.charts: the bars' markup (built with f-strings for speed) escapes every piece of text and
writes the coordinates as before."""

from decimal import Decimal

from django.utils import translation

from usage.charts import Bar, bar_chart


def test_a_bar_chart_escapes_its_texts_and_places_its_bars() -> None:
    bars = [
        Bar(key='1"><x>', label="<b>1</b>", value=Decimal("5"), sentence="a & b", text="<i>5</i>", highlight=True),
        Bar(key="2", label="", value=None, sentence="later"),
    ]
    with translation.override("en"):
        svg = bar_chart(bars, currency="CHF", title="T", summary="S", css_class="c", id_prefix="p")
    assert '<g class="bar today" data-key="1&quot;&gt;&lt;x&gt;"><title>a &amp; b</title>' in svg
    assert '<rect x="122.7" y="24.0" width="236.6" height="220.0" fill="#ef6c00"/>' in svg
    assert 'fill="#222">&lt;i&gt;5&lt;/i&gt;</text>' in svg
    assert 'fill="#222">&lt;b&gt;1&lt;/b&gt;</text>' in svg
    assert '<line class="none" x1="477.6" y1="243" x2="680.4" y2="243" stroke="#555" stroke-width="1"/>' in svg
    assert '<text class="value" x="241.0" y="19.0" text-anchor="middle" font-size="10" fill="#222">' in svg
    assert "<x>" not in svg and "<b>" not in svg and "<i>" not in svg
    assert svg.count('<line class="grid"') == 6
    assert '<text class="tick" x="66" y="28.0" text-anchor="end" font-size="11" fill="#555">CHF 5.00</text>' in svg
