"""Typed errors of the scraping package; every message is meant for a user."""

from petclf.errors import PetclfError


class ScrapeError(PetclfError):
    """Base class of everything scraping raises on purpose."""


class PlanError(ScrapeError):
    """The plan file or the command-line choices can't be used."""


class MissingCredentials(ScrapeError):
    """An API mode was asked for without its key in the environment."""


class SourceError(ScrapeError):
    """A search page or API call failed in a way retries could not fix."""


class NoResults(SourceError):
    """The first page of a search held no photos and no wall: said, never a silent zero."""


class RobotsDisallowed(ScrapeError):
    """robots.txt forbids a page request we were about to make."""


class AccessWall(ScrapeError):
    """The site answered with a wall instead of results: never report that as '0 images'."""


class ConsentWall(AccessWall):
    """A cookie / privacy consent page stands in front of the results."""


class GeoBlocked(AccessWall):
    """The site refuses to serve this region."""


class LoginWall(AccessWall):
    """The results need a signed-in account."""


class ImageRejected(ScrapeError):
    """A download arrived but is not a photo we want; `reason` is the summary's key."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


class DownloadFailed(ScrapeError):
    """A single image could not be fetched; the run counts it and goes on."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
