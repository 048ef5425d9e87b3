"""Tandem: a self-hostable Human + AI customer-support desk."""

__version__ = "0.1.0"
