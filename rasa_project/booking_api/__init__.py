"""Client of the internal booking API; the contract is `openapi.yaml` in this folder."""

from rasa_project.booking_api.client import BookingApiClient
from rasa_project.booking_api.errors import (
    ApiUnavailable,
    BookingApiError,
    ClientNotFound,
    Conflict,
    InvalidRequest,
    NotFound,
    Unauthorized,
)
from rasa_project.booking_api.models import Booking, ClientProfile, Package, Purchase, Service, Slot

__all__ = [
    "ApiUnavailable",
    "Booking",
    "BookingApiClient",
    "BookingApiError",
    "ClientNotFound",
    "ClientProfile",
    "Conflict",
    "InvalidRequest",
    "NotFound",
    "Package",
    "Purchase",
    "Service",
    "Slot",
    "Unauthorized",
]
