"""QR codes as SVG. Its own small module: the server draws them in a separate process
(``runtime.offload``), which imports only this."""

from __future__ import annotations

import qrcode
import qrcode.image.svg


def qr_svg(data: str) -> bytes:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string()
