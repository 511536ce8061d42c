"""Builds the two small MMDB files the access-rule tests point Twofold at, with the PyPI
`mmdb-writer` package: a country database (GeoLite2-Country layout) and an anonymous-IP
database (GeoIP2-Anonymous-IP layout). Usage: make_mmdb.py COUNTRY.mmdb ANONYMOUS.mmdb"""

import sys

from mmdb_writer import MMDBWriter
from netaddr import IPSet

# Documentation ranges (RFC 5737 / RFC 3849) standing in for real countries.
COUNTRIES = {
    "198.51.100.0/24": "CH",
    "203.0.113.0/24": "KP",
    "192.0.2.0/24": "FR",
    "2001:db8:ca::/48": "CA",
}
ANONYMOUS = ["198.18.0.0/15"]


def country(path):
    w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country", languages=["en"],
                   description="Twofold test countries")
    for net, code in COUNTRIES.items():
        w.insert_network(IPSet([net]), {"country": {"iso_code": code, "names": {"en": code}}})
    w.to_db_file(path)


def anonymous(path):
    w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-Anonymous-IP", languages=["en"],
                   description="Twofold test anonymous networks")
    for net in ANONYMOUS:
        w.insert_network(IPSet([net]), {"is_anonymous": True, "is_anonymous_vpn": True})
    w.to_db_file(path)


if __name__ == "__main__":
    country(sys.argv[1])
    anonymous(sys.argv[2])
