"""Image review: does the damage in a claim photo fit the claim?

HTTP: `POST {IMAGES_BASE_URL}/reviews` with the document, answering the result below.

Simulator (local stand-in): damage is consistent unless the url contains "inconsistent";
confidence is a stable number in [0.70, 0.99) per documentId.
"""

from __future__ import annotations

from typing import Protocol

from adapters import simulator
from adapters.partners.base import HttpPartner

PARTNER = "images"


class ImageReviewer(Protocol):
    def review(self, document: dict) -> dict:
        """`{documentId, kind, url}` -> `{documentId, damageConsistent, confidence}`."""
        ...


class HttpImages(HttpPartner):
    partner = PARTNER

    def review(self, document: dict) -> dict:
        return self._call("POST", "/reviews", json=document)


class SimulatedImages:
    """Local stand-in for the image review service; results carry `"simulated": true`."""

    def review(self, document: dict) -> dict:
        document_id = str(document.get("documentId", ""))
        simulator.guard(PARTNER, "review", [document_id])
        confidence = 0.70 + simulator.fraction(PARTNER, document_id) * 0.29
        return {
            "documentId": document_id,
            "damageConsistent": "inconsistent" not in str(document.get("url", "")).lower(),
            "confidence": round(confidence, 3),
            "simulated": True,
        }


def client() -> ImageReviewer:
    """The HTTP client when IMAGES_BASE_URL is set, else the simulator."""
    return HttpImages.from_settings() or SimulatedImages()
