"""Pydantic models of Capillary answers. Vendor input is untrusted: validate, never assume."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class VendorModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class ResendResult(VendorModel):
    org_id: int = Field(alias="orgId")
    undelivered_message_id: int = Field(alias="undeliveredMessageId")
    resent_message_id: int = Field(alias="resentMessageId")
    warnings: tuple[str, ...] = ()
    request_id: str | None = None  # Capillary's X-Cap-Requestid of the resend, for the audit log


class OAuthToken(VendorModel):
    access_token: str = Field(alias="accessToken", min_length=1)
    ttl_seconds: float = Field(alias="ttlSeconds", gt=0)


class InteractionMessage(VendorModel):
    """One message of ``GET /v2/customers/interaction``. ``sent_date`` is ``DD-MM-YYYY HH:mm:ss`` in cluster time,
    without an offset: it stays text here and is read with the cluster's zone by bot/alerts.py."""

    id: int
    receiver: str | None = None
    status: str
    sent_date: str | None = Field(default=None, alias="sentDate")


class InteractionChannel(VendorModel):
    name: str
    message_list: tuple[InteractionMessage, ...] = Field(default=(), alias="messageList")


class CustomerInteractions(VendorModel):
    name: str | None = None
    interaction: tuple[InteractionChannel, ...] = ()


@dataclass(frozen=True)
class ChannelMessage:
    """A message of the interaction API with the name of the channel it went through (sms, email …)."""

    channel: str
    message: InteractionMessage
