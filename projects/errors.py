"""Errors of road projects; each says what is wrong and what to do.  Nothing is written when
one is raised.  ``api/errors.py`` maps them by their base class (not found 404, conflict
409, any other 422)."""

from __future__ import annotations

from db.errors import Conflict, DomainError, NotFound


class ProjectNotFound(NotFound):
    code = "project_not_found"
    title = "Road project not found"


class CorridorNotFound(NotFound):
    code = "corridor_not_found"
    title = "Corridor version not found"


class DuplicateProject(Conflict):
    code = "duplicate_project"
    title = "A project with that code exists"


class InvalidProject(DomainError):
    code = "invalid_project"
    title = "Invalid road project"


class InvalidCorridor(DomainError):
    code = "invalid_corridor"
    title = "Invalid corridor"


class CorridorOutsideWard(DomainError):
    code = "corridor_outside_ward"
    title = "The corridor does not reach the ward"


class NoImpact(DomainError):
    code = "no_impact"
    title = "The corridor takes no land from any parcel"
