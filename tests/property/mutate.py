"""Hypothesis strategies that damage real-shaped documents: cut, repeat, flip, and insert hostile text."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.support.hostile import CATALOGUE, encodable

SNIPPETS = [encodable(item.text).encode("utf-8") for item in CATALOGUE if len(item.text) < 200] + [
    b"\r\n",
    b"\n\n",
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"=?utf-8?B?G1szMW0=?=",  # an encoded word holding ESC [31m
    b"=?x-unknown?Q?=1B=5D0;t=07?=",
    b"&#x1b;",
    b"&#27;[31m",
    b"<![CDATA[",
    b"]]>",
    b"--",
    b"Content-Type: multipart/mixed; boundary=x\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"=?utf-8?Q?=E2=80=AE?=",
    b"\xe2\x80\xae",  # U+202E as UTF-8
    b"\x1b]52;c;aGk=\x07",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """One of ``seeds`` after one to six random mutations."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        kind = draw(st.sampled_from(["cut", "delete", "repeat", "flip", "insert", "random"]))
        size = len(data)
        at = draw(st.integers(min_value=0, max_value=size))
        if kind == "cut":
            del data[at:]
        elif kind == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=64))]
        elif kind == "repeat":
            piece = data[at : at + draw(st.integers(min_value=1, max_value=200))]
            data[at:at] = piece * draw(st.integers(min_value=1, max_value=5))
        elif kind == "flip" and size:
            index = min(at, size - 1)
            data[index] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(SNIPPETS))
        else:
            data[at:at] = draw(st.binary(max_size=40))
    return bytes(data)
