"""Shared behaviour of our actions: their services, and one way to reply."""

from __future__ import annotations

from abc import ABC, abstractmethod

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.replies import Replier
from actions.services import Services, shared_services


class ServicesMixin:
    """Gives an action its `Services`: the one it was built with, or the process-wide one."""

    def __init__(self, services: Services | None = None) -> None:
        super().__init__()
        self._services = services

    @property
    def services(self) -> Services:
        return self._services or shared_services()

    def replier(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Replier:
        return Replier(self.services, dispatcher, tracker, domain)


class AssistantAction(ServicesMixin, Action, ABC):
    """An action of this assistant (abstract: rasa-sdk registers only the concrete ones)."""

    @abstractmethod
    def name(self) -> str:
        """The action's name in the domain."""


class AssistantFormValidation(ServicesMixin, FormValidationAction, ABC):
    """A form validation action of this assistant."""

    @abstractmethod
    def name(self) -> str:
        """`validate_<form name>`."""
