#!/usr/bin/python3
"""make bench's second baseline: what a Python user would write with the standard library alone.
Reads the same CXengage pages the extension reads (one kept-alive connection, pages in order,
stopping where offset + limit reaches total or at --rows), parses each with json.loads and, for
--mode select, builds every row's tuple of the columns SELECT * returns (times converted the way
the table does). Prints "rows seconds", seconds from the first request to the last row, so the
interpreter's start-up is left out as the shell's .timer leaves out ours.

    python3 bench/baseline_stdlib.py --url URL --user U:P --rows N --mode count|select
"""
import argparse
import base64
import datetime
import http.client
import json
import time
import urllib.parse

FIELDS = ("channelType", "lastDispositionName", "interactionId", "customer", "channelName",
          "directionType", "directionName", "endTimestamp", "lastAgentId", "lastAgentName",
          "lastQueueId", "lastQueueName", "lastDispositionId", "lastDispositionName", "csat",
          "note", "recording", "transcript")


def utc(text):
    if not isinstance(text, str):
        return None
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the interactions URL without a query")
    parser.add_argument("--user", required=True)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--mode", choices=("count", "select"), required=True)
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    headers = {"Accept": "application/json",
               "Authorization": "Basic " + base64.b64encode(args.user.encode()).decode()}
    started = time.perf_counter()
    connection = http.client.HTTPConnection(url.hostname, url.port)
    rows, page, checksum = 0, 0, 0
    while rows < args.rows:
        connection.request("GET", f"{url.path}?limit=100&page={page}", headers=headers)
        answer = connection.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise SystemExit(f"baseline_stdlib: HTTP {answer.status} for page {page}")
        document = json.loads(body)
        for item in document["results"]:
            if rows == args.rows:
                break
            rows += 1
            if args.mode == "select":
                row = (utc(item.get("startTimestamp")), *(item.get(key) for key in FIELDS),
                       json.dumps(item))
                checksum += len(row)
            else:
                checksum += len(item.get("interactionId") or "")
        if document["offset"] + document["limit"] >= document["total"]:
            break
        page += 1
    print(rows, f"{time.perf_counter() - started:.6f}")


if __name__ == "__main__":
    main()
