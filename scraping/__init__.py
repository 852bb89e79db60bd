"""Collect labelled photos from Flickr and Imgur: politely, resumably, without junk."""

from scraping.errors import (
    AccessWall,
    ConsentWall,
    DownloadFailed,
    GeoBlocked,
    ImageRejected,
    LoginWall,
    MissingCredentials,
    NoResults,
    PlanError,
    RobotsDisallowed,
    ScrapeError,
    SourceError,
)

__all__ = [
    "AccessWall",
    "ConsentWall",
    "DownloadFailed",
    "GeoBlocked",
    "ImageRejected",
    "LoginWall",
    "MissingCredentials",
    "NoResults",
    "PlanError",
    "RobotsDisallowed",
    "ScrapeError",
    "SourceError",
]
