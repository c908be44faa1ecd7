"""Offices (one-stop centres and agencies), their scan stations and working calendars."""
