#!/usr/bin/env python3
"""Deterministic synthetic corpora shaped like ``data/``, for the benchmarks.

    python benchmarks/generate.py 10000 /tmp/corpus-10k          # 10k articles, seed 1
    python benchmarks/generate.py 1000 /tmp/c1k --seed 7 --check  # and load it with kg's loader

A corpus is a data directory exactly like the project's ``data/`` (see ``docs/claims.md``):

* ``entities/*.yaml``: the registry. Actors scale as ~10*sqrt(N) (persons ~60 %, states ~8 %,
  ministries/agencies/militaries/governments/organizations ~32 %, each with unique aliases; a
  state's alias is its capital's name, which is also a place, as "Pyongyang" is in data/),
  50 outlets, places (capitals and cities), topics, measures, and N/8 meetings, N/40 pledges,
  N/50 incidents and the agreements some pledges are recorded in;
* ``articles/<stem>.txt`` and ``articles/<stem>.yaml``: the text (furniture lines, a headline,
  the sentences the claims quote, filler) and its metadata with the real sha256, the outlet and a
  publication date between 2015 and 2024;
* ``claims/<stem>.yaml``: 1-3 claims per article (mean ~1.7) of every kind: meetings (held,
  failed, postponed, planned in the future tense), attendance (attended, absent, declined,
  ``[expected, absent]`` no-shows, with roles), pledges (by/to/content/meeting/document/topic)
  and their later steps (reaffirmed, stalled, partly kept, suspended, resumed, kept, broken),
  statements (verbatim text, about, stance, on behalf of), offices, figures (corroborating and
  conflicting values), incidents, relations, and disputes of earlier statements, in the same or
  another article (``<stem>#<id>``). Every quote is a verbatim part of the text, every ``text``/
  ``content``/``description`` a verbatim part of its quote, and every date an expression the
  loader resolves ("Thursday", "March 4", "March 4, 2019", "last week", ...). Several outlets
  report the same facts, so corroboration counts are realistic.

Also written: ``fresh/`` (articles that are *not* in the corpus, for timing ``kg add``),
``params.json`` (real names, meetings, dates... to run the named queries with) and
``manifest.json`` (sizes, counts, generation time). The same ``(N, seed)`` always gives
byte-identical files. Files are stream-written from string templates (no YAML emitter), so
100k articles (300k files) take well under a minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kg.entities import name_key  # noqa: E402  (the loader's own name comparison)

#: Bump when the generated data changes, so cached corpora are regenerated.
GENERATOR_VERSION = 6

DATE_LO = dt.date(2015, 1, 1)
DATE_HI = dt.date(2024, 6, 30)
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def yaml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    return q(str(value))


def yaml_flow(mapping: dict) -> str:
    return "{" + ", ".join(f"{k}: {yaml_value(v)}" for k, v in mapping.items()) + "}"


# --- names --------------------------------------------------------------------------------------

_ONSETS = ["b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "kr", "l", "m", "n", "p", "r",
           "s", "st", "t", "tr", "v", "z", "sh", "ch", "th", "j", "w", "y", "bl", "fr"]
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea", "io", "ou", "ei"]
_CODAS = ["", "", "", "n", "r", "l", "s", "m", "th", "k", "nd", "rt", "sk", "v"]


class Names:
    """Fresh, pronounceable, globally unique names (by the loader's name_key)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def word(self, lo=2, hi=3) -> str:
        rng = self.rng
        parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(lo, hi))]
        return ("".join(parts) + rng.choice(_CODAS)).capitalize()

    def take(self, name: str) -> bool:
        """Reserve ``name``; False if it (or a spelling the loader equates) is taken."""
        key = name_key(name)
        if key in self.used:
            return False
        self.used.add(key)
        return True

    def fresh(self, make) -> str:
        for _ in range(1000):
            name = make()
            if self.take(name):
                return name
        raise RuntimeError("name space exhausted")


def slug(text: str) -> str:
    out = "".join(c.lower() if c.isalnum() else "-" for c in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


# --- the world ----------------------------------------------------------------------------------

_TOPIC_WORDS = ["water rights", "fisheries", "border crossings", "grain exports", "rail links",
                "prisoner exchanges", "refugee returns", "sanctions relief", "arms control",
                "nuclear inspections", "tariffs", "energy supplies", "river dams",
                "airspace access", "mine clearance", "election monitoring", "debt relief",
                "port access", "pipeline transit", "cyber security", "ceasefire lines",
                "troop withdrawals", "war remains", "vaccine supplies", "fishing quotas",
                "customs checks", "satellite launches", "power grids", "visa rules",
                "drug trafficking"]
_TITLES_PERSON = [("Foreign Minister", "ministry"), ("Defense Minister", "ministry"),
                  ("President", "state"), ("Prime Minister", "state"), ("Ambassador", "state"),
                  ("spokesperson", "ministry"), ("General", "military"),
                  ("Director", "agency"), ("envoy", "state"), ("Chairman", "government"),
                  ("Secretary-General", "organization")]
_BODY_KINDS = [("ministry", "Foreign Ministry of {s}", ["{a} Foreign Ministry", "{s}'s Foreign Ministry"]),
               ("ministry", "Defense Ministry of {s}", ["{a} Defense Ministry", "{s}'s Defense Ministry"]),
               ("military", "{a} armed forces", ["the {a} military", "{s}'s army"]),
               ("agency", "{a} Border Agency", ["{s}'s border agency"]),
               ("government", "Cabinet office of {s}", ["the {a} cabinet"]),
               ("agency", "{a} Intelligence Service", ["{s}'s spy agency"]),
               ("organization", "{a} Red Crescent", ["the {a} Red Crescent Society"])]
_MEETING_WORDS = {"meeting": "meeting", "summit": "summit", "talks": "talks", "visit": "visit",
                  "ceremony": "ceremony"}
_MEASURE_TEMPLATES = [("refugees registered in {p}", "people"), ("troops stationed near {p}", "troops"),
                      ("prisoners held in {p}", "prisoners"), ("tonnes of grain shipped from {p}", "tonnes"),
                      ("mines cleared around {p}", "mines"), ("people displaced near {p}", "people"),
                      ("aid trucks admitted to {p}", "trucks"), ("wells drilled near {p}", "wells")]
_INCIDENTS = ["a missile test", "a border skirmish", "a cyber attack", "an embassy protest",
              "a ship seizure", "a drone incursion", "a prisoner release", "a flood",
              "an explosion at a depot", "a mass rally"]
_STEP_PHRASES = {
    "reaffirmed": "{actor} reaffirmed the pledge to {content} {prose}",
    "stalled": "the pledge to {content} has stalled since {prose2}",
    "partly_kept": "the pledge to {content} was only partly carried out by {prose2}",
    "kept": "the pledge to {content} was kept in full by {prose2}",
    "suspended": "{actor} suspended work on the pledge to {content} {prose}",
    "resumed": "{actor} resumed work on the pledge to {content} {prose}",
    "broken": "{actor} broke the pledge to {content} {prose}",
}
_STATEMENT_TEMPLATES = [
    ("We will not accept any deal on {topic} that ignores {actor}", "critical"),
    ("The talks with {actor} on {topic} were productive", "supportive"),
    ("{actor} has been a reliable partner on {topic}", "supportive"),
    ("{actor} is not serious about {topic}", "critical"),
    ("There remains a great deal of work to do on {topic}", "neutral"),
    ("Our position on {topic} has not changed", "neutral"),
    ("{actor} must honour its commitments on {topic}", "critical"),
    ("We thank {actor} for its help with {topic}", "supportive"),
    ("The date for the next round on {topic} remains flexible", "neutral"),
    ("The demands of {actor} on {topic} are gangster-like", "critical"),
]
_FILLER = [
    "Officials did not give further details.",
    "Analysts said the outcome remained uncertain.",
    "It was not immediately clear what the next steps would be.",
    "The statement ran to several pages and was published in two languages.",
    "Reporters were kept outside the building for most of the day.",
    "Diplomats familiar with the matter described the mood as tense but cordial.",
    "Previous rounds had ended without a joint statement.",
    "Local media carried the news on their front pages.",
    "Neither side released a transcript.",
    "Observers expect the issue to return at the next regional gathering.",
    "The announcement came after weeks of speculation.",
    "Some experts suggested the timing was not a coincidence.",
]
_FURNITURE = ["Skip to main content", "Advertisement", "Sign up for our newsletter",
              "Share this article", "Most read", "Listen to this article", "Related coverage",
              "Accessibility links", "Breaking News", "Watch live"]
_SOURCE_LABELS = [("a senior official", "person"), ("two diplomats", "group"),
                  ("a government spokesperson", "person"), ("officials", "group"),
                  ("a source close to the talks", "person"), ("military officials", "group")]


class World:
    """Entities and the ground truth (dates, participants, pledge histories) articles report."""

    def __init__(self, n: int, seed: int):
        self.n = n
        rng = self.rng = random.Random(f"world-{n}-{seed}")
        names = self.names = Names(rng)
        root = math.sqrt(n)
        n_actors = max(60, round(10 * root))
        n_states = max(6, round(0.08 * n_actors))
        n_bodies = round(0.32 * n_actors)
        n_persons = n_actors - n_states - n_bodies
        self.entities: dict[str, dict] = {}   # key -> yaml fields (+ "_file")
        self.wikidata: list[tuple[str, str]] = []

        # outlets
        self.outlets = []
        papers = ["Courier", "Herald", "Observer", "Gazette", "Tribune", "Chronicle", "Post",
                  "Monitor", "Dispatch", "Telegraph"]
        for i in range(50):
            label = names.fresh(lambda: f"The {names.word(2, 2)} {rng.choice(papers)}")
            short = label[4:]
            key = f"outlet-{slug(short)}"
            aliases = [short] if names.take(short) else []
            abbrev = "".join(w[0] for w in short.split()).upper() + "N"
            if names.take(abbrev):
                aliases.append(abbrev)
            furniture = rng.sample(_FURNITURE, rng.randint(0, 2))
            self._add(key, "actors-outlets", kind="outlet", label=label, aliases=aliases)
            self.outlets.append({"key": key, "label": label, "furniture": furniture})

        # states, their capitals and other cities
        self.states, self.places = [], []
        for i in range(n_states):
            name = names.fresh(lambda: names.word(2, 3))
            adjective = name + ("n" if name[-1] in "aeiou" else "ian")
            names.take(adjective)
            capital = names.fresh(lambda: names.word(2, 2))
            key = f"state-{slug(name)}"
            aliases = [a for a in (f"Republic of {name}", f"the {adjective} government")
                       if names.take(a)]
            aliases.append(capital)  # the capital names the state as an actor ("Pyongyang")
            self._add(key, "actors-states", kind="state", label=name, aliases=aliases)
            if i % 3 == 0:
                qid = f"Q{90000000 + i}"
                self.entities[key]["wikidata"] = qid
                self.wikidata.append((name, qid))
            ckey = f"place-{slug(capital)}"
            self._add(ckey, "places", kind="place", label=capital)
            state = {"key": key, "label": name, "adj": adjective, "capital": capital,
                     "capital_key": ckey, "aliases": aliases, "bodies": []}
            self.states.append(state)
            self.places.append({"key": ckey, "label": capital, "state": state})
            for _ in range(2):
                city = names.fresh(lambda: names.word(2, 3))
                pkey = f"place-{slug(city)}"
                self._add(pkey, "places", kind="place", label=city, part_of=None)
                self.places.append({"key": pkey, "label": city, "state": state})

        # bodies of states
        self.bodies = []
        for i in range(n_bodies):
            state = self.states[i % n_states]
            kind, label_t, alias_t = _BODY_KINDS[(i // n_states) % len(_BODY_KINDS)]
            label = label_t.format(s=state["label"], a=state["adj"])
            if not names.take(label):
                label = names.fresh(lambda: f"{state['adj']} {names.word(2, 2)} Office")
                alias_t = []
                kind = "government"
            key = f"body-{slug(label)}"
            aliases = [a for a in (t.format(s=state["label"], a=state["adj"]) for t in alias_t)
                       if names.take(a)]
            self._add(key, "actors-bodies", kind=kind, label=label, aliases=aliases,
                      part_of=state["key"])
            body = {"key": key, "label": label, "kind": kind, "state": state, "aliases": aliases}
            state["bodies"].append(body)
            self.bodies.append(body)
        # a few international organizations (no state)
        for _ in range(max(2, n_states // 4)):
            label = names.fresh(lambda: f"{names.word(2, 2)} Cooperation Council")
            key = f"body-{slug(label)}"
            self._add(key, "actors-bodies", kind="organization", label=label, aliases=[])
            self.bodies.append({"key": key, "label": label, "kind": "organization", "state": None,
                                "aliases": []})

        # persons, each with an office
        self.persons = []
        firsts = [names.word(1, 2) for _ in range(300)]
        for i in range(n_persons):
            state = self.states[rng.randrange(n_states)]
            label = names.fresh(lambda: f"{rng.choice(firsts)} {names.word(2, 3)}")
            first, last = label.split(" ", 1)
            title, where = rng.choice(_TITLES_PERSON)
            org = state
            if where in ("ministry", "military", "agency", "government"):
                fit = [b for b in state["bodies"] if b["kind"] == where] or state["bodies"]
                if fit:
                    org = rng.choice(fit)
            elif where == "organization":
                org = rng.choice([b for b in self.bodies if b["state"] is None])
            aliases = []
            if names.take(last):
                aliases.append(last)
            full = f"{title} {label}" if title[0].isupper() else f"{state['adj']} {title} {label}"
            if names.take(full):
                aliases.append(full)
            key = f"person-{slug(label)}"
            self._add(key, "actors-persons", kind="person", label=label, aliases=aliases)
            self.persons.append({"key": key, "label": label, "aliases": aliases, "state": state,
                                 "title": title, "org": org})

        self.actors = ([dict(p, kind="person") for p in self.persons]
                       + [dict(s, kind="state") for s in self.states]
                       + [dict(b) for b in self.bodies])
        # Popularity: a few actors are in the news all the time (Zipf-like), as in real corpora.
        order = list(range(len(self.actors)))
        rng.shuffle(order)
        self.actor_weights = [0.0] * len(self.actors)
        for rank, idx in enumerate(order, 1):
            self.actor_weights[idx] = 1.0 / rank ** 0.8

        # topics
        self.topics = []
        for i in range(max(20, round(2 * root))):
            base = _TOPIC_WORDS[i % len(_TOPIC_WORDS)]
            if i >= len(_TOPIC_WORDS):
                base = f"{base} in {rng.choice(self.places)['label']}"
            label = base[0].upper() + base[1:]
            if not names.take(label):
                continue
            key = f"topic-{slug(base)}"
            self._add(key, "topics", kind="topic", label=label)
            self.topics.append({"key": key, "label": label, "text": base})

        # measures
        self.measures = []
        for i in range(max(10, n // 200)):
            tmpl, unit = _MEASURE_TEMPLATES[i % len(_MEASURE_TEMPLATES)]
            place = self.places[rng.randrange(len(self.places))]
            text = tmpl.format(p=place["label"])
            label = text[0].upper() + text[1:]
            if not names.take(label):
                continue
            key = f"measure-{i}-{slug(text)[:40]}"
            self._add(key, "measures", kind="measure", label=label)
            base = rng.choice([120, 450, 1200, 3400, 7700, 12000, 55000])
            self.measures.append({"key": key, "label": label, "text": text, "unit": unit,
                                  "value": base * rng.randint(1, 9)})

        # meetings: the ground truth articles report
        self.meetings = []
        span = (DATE_HI - DATE_LO).days
        for i in range(max(20, n // 8)):
            kind = rng.choice(["meeting", "summit", "talks", "talks", "visit", "ceremony"])
            place = self.places[rng.randrange(len(self.places))]
            topic = self.topics[rng.randrange(len(self.topics))]
            date = DATE_LO + dt.timedelta(days=rng.randrange(span))
            word = _MEETING_WORDS[kind]
            label = f"{place['label']} {word} on {topic['text']}, {MONTHS[date.month - 1]} {date.year}"
            if not names.take(label):
                label = f"{label} (#{i})"
                names.take(label)
            key = f"meeting-{i}-{slug(place['label'])}-{kind}"
            aliases = []
            alias = f"the {place['label']} {word} of {date.isoformat()}"
            if names.take(alias):
                aliases.append(alias)
            self._add(key, "events-meetings", kind=kind, label=label, aliases=aliases)
            k = rng.choice([2, 2, 2, 3, 3, 4, 5])
            parts = self._pick_actors(k)
            status = rng.choices(["held", "failed", "postponed", "cancelled", "planned"],
                                 [70, 10, 6, 4, 10])[0]
            participants = []
            for j, a in enumerate(parts):
                st = ["attended"]
                if status in ("failed", "cancelled") and j == len(parts) - 1:
                    st = rng.choice([["expected", "absent"], ["absent"], ["declined"]])
                elif status == "held" and j >= 2 and rng.random() < 0.25:
                    st = rng.choice([["expected", "absent"], ["absent"], ["declined"]])
                elif status == "planned":
                    st = ["expected"]
                participants.append((a, st))
            self.meetings.append({"key": key, "label": label, "kind": kind, "word": word,
                                  "place": place, "topic": topic, "date": date,
                                  "status": status, "participants": participants,
                                  "proposer": parts[0]})

        # agreements and pledges, with their histories
        self.pledges = []
        verbs = ["reopen", "expand", "restore", "guarantee", "fund", "review", "end", "resume"]
        for i in range(max(10, n // 40)):
            topic = self.topics[rng.randrange(len(self.topics))]
            meeting = self.meetings[rng.randrange(len(self.meetings))] if rng.random() < 0.6 else None
            by = self._pick_actors(rng.choice([1, 1, 2]), kinds=("person", "state"))
            to = self._pick_actors(1, kinds=("state",)) if rng.random() < 0.6 else []
            to = [t for t in to if t["key"] not in {b["key"] for b in by}]
            content = f"{rng.choice(verbs)} {topic['text']} talks within {rng.randint(2, 12)} months"
            label = names.fresh(lambda: f"Pledge to {content} ({names.word(1, 2)})")
            key = f"pledge-{i}"
            self._add(key, "events-pledges", kind="pledge", label=label)
            made = (meeting["date"] if meeting else
                    DATE_LO + dt.timedelta(days=rng.randrange(span - 400)))
            document = None
            if meeting and rng.random() < 0.4:
                dlabel = names.fresh(lambda: f"{meeting['place']['label']} accord on {topic['text']} {names.word(1, 1)}")
                dkey = f"agreement-{i}"
                self._add(dkey, "events-pledges", kind="agreement", label=dlabel)
                document = {"key": dkey, "label": dlabel}
            steps = []
            day = made
            for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
                day = day + dt.timedelta(days=rng.randint(20, 300))
                if day > DATE_HI:
                    break
                step = rng.choice(["reaffirmed", "stalled", "partly_kept", "suspended",
                                   "resumed", "kept", "broken", "stalled"])
                steps.append((step, day, by[0]))
            self.pledges.append({"key": key, "label": label, "by": by, "to": to,
                                 "content": content, "meeting": meeting, "document": document,
                                 "topic": topic, "date": made, "steps": steps})

        # incidents
        self.incidents = []
        for i in range(max(10, n // 50)):
            what = rng.choice(_INCIDENTS)
            place = self.places[rng.randrange(len(self.places))]
            date = DATE_LO + dt.timedelta(days=rng.randrange(span))
            label = f"{what.split(' ', 1)[1].capitalize()} in {place['label']} ({date.isoformat()})"
            if not names.take(label):
                continue
            key = f"incident-{i}"
            self._add(key, "events-incidents", kind="incident", label=label)
            self.incidents.append({"key": key, "label": label, "what": what, "place": place,
                                   "date": date, "actor": self._pick_actors(1)[0]})

        # statements: who says what; quoted by one or more outlets
        self.statements = []
        for i in range(max(30, n // 5)):
            tmpl, stance = rng.choice(_STATEMENT_TEMPLATES)
            speaker = self._pick_actors(1, kinds=("person", "state", "ministry", "military",
                                                  "agency", "government"))[0]
            other = self._pick_actors(1)[0]
            if other["key"] == speaker["key"]:
                other = self.actors[(self.actors.index(speaker) + 1) % len(self.actors)] \
                    if speaker in self.actors else self.actors[0]
            topic = self.topics[rng.randrange(len(self.topics))]
            text = tmpl.format(actor=other["label"], topic=topic["text"])
            about = [other["key"], topic["key"]] if "{actor}" in tmpl else [topic["key"]]
            date = DATE_LO + dt.timedelta(days=rng.randrange(span))
            self.statements.append({"speaker": speaker, "text": text, "about": about,
                                    "stance": stance if rng.random() < 0.8 else None,
                                    "date": date, "other": other, "topic": topic})

    def _add(self, key, file, **fields):
        if key in self.entities:
            raise RuntimeError(f"duplicate key {key}")
        self.entities[key] = dict(fields, _file=file)

    def _pick_actors(self, k, kinds=None):
        pools = self.__dict__.setdefault("_pools", {})
        key = tuple(kinds) if kinds else None
        if key not in pools:
            pairs = [(a, w) for a, w in zip(self.actors, self.actor_weights)
                     if kinds is None or a["kind"] in kinds]
            actors = [a for a, _ in pairs]
            cum, total = [], 0.0
            for _, w in pairs:
                total += w
                cum.append(total)
            pools[key] = (actors, cum)
        actors, cum = pools[key]
        chosen, seen = [], set()
        for _ in range(20 * k):
            a = self.rng.choices(actors, cum_weights=cum)[0]
            if a["key"] not in seen:
                seen.add(a["key"])
                chosen.append(a)
                if len(chosen) == k:
                    break
        return chosen

    # --- naming things in prose --------------------------------------------------------------

    def actor_name(self, rng, actor) -> str:
        """A name for an actor in an actor field: its label or one of its (unique) aliases."""
        aliases = [a for a in actor.get("aliases", []) if a != actor.get("capital")]
        if actor["kind"] == "state" and rng.random() < 0.15:
            return actor["capital"]  # "Pyongyang said": resolves to the state among actors
        if aliases and rng.random() < 0.4:
            return rng.choice(aliases)
        return actor["label"]

    def write_entities(self, out: Path):
        files = defaultdict(list)
        for key, body in self.entities.items():
            files[body["_file"]].append((key, body))
        for name, items in sorted(files.items()):
            with open(out / f"{name}.yaml", "w", encoding="utf-8") as fh:
                fh.write(f"# Synthetic benchmark entities ({name}); generator v{GENERATOR_VERSION}.\n\n")
                for key, body in items:
                    fh.write(f"{key}:\n  kind: {body['kind']}\n  label: {q(body['label'])}\n")
                    if body.get("aliases"):
                        fh.write(f"  aliases: {yaml_value(body['aliases'])}\n")
                    if body.get("wikidata"):
                        fh.write(f"  wikidata: {body['wikidata']}\n")
                    if body.get("part_of"):
                        fh.write(f"  part_of: {body['part_of']}\n")


def _state_of(actor):
    """The state an actor belongs to (itself for a state; None for an international body)."""
    return actor if actor["kind"] == "state" else actor.get("state")


# --- dates --------------------------------------------------------------------------------------

def date_expr(day: dt.date, published: dt.date, rng) -> tuple[str, str]:
    """(date expression for the claim, the words in the sentence), for a day on or before P."""
    d = (published - day).days
    if d < 0:
        raise ValueError("future date")
    if d == 0 and rng.random() < 0.5:
        return "today", "today"
    if d <= 6:
        wd = day.strftime("%A")
        return wd, f"on {wd}"
    if d < 300 and not (day.month == 2 and day.day == 29):
        md = f"{MONTHS[day.month - 1]} {day.day}"
        return md, f"on {md}"
    full = f"{MONTHS[day.month - 1]} {day.day}, {day.year}"
    return full, f"on {full}"


def future_expr(day: dt.date) -> tuple[str, str]:
    full = f"{MONTHS[day.month - 1]} {day.day}, {day.year}"
    return full, f"on {full}"


# --- articles -----------------------------------------------------------------------------------

class Article:
    def __init__(self, stem, outlet, published):
        self.stem = stem
        self.outlet = outlet
        self.published = published
        self.sentences: list[str] = []
        self.claims: list[dict] = []
        self.sources: dict[str, dict] = {}
        self.headline = None
        self.ids = Counter()

    def claim(self, kind, quote, fields, according_to=None):
        self.ids[kind] += 1
        cid = f"{kind.replace('_', '-')}-{self.ids[kind]}"
        c = {"id": cid, "quote": quote, "kind": kind, "fields": fields}
        if according_to:
            c["according_to"] = according_to
        self.claims.append(c)
        return cid

    def source(self, rng, state):
        label, kind = rng.choice(_SOURCE_LABELS)
        key = slug(label)
        self.sources[key] = {"label": label, "kind": kind,
                             "affiliation": state["key"] if state else None}
        return key


class Writer:
    """Turns stories about the world into article files; collects query parameters."""

    def __init__(self, world: World, out: Path, seed: int):
        self.world = world
        self.out = out
        self.seed = seed
        self.stats = Counter()
        self.attend_count = Counter()      # actor label -> attendance claims
        self.noshow_meetings = Counter()   # meeting label -> no-show claims
        self.speakers = Counter()
        self.disputers = Counter()
        self.pledgers = Counter()
        self.holders = Counter()
        self.measures_used = Counter()
        self.topics_used = Counter()
        self.about_actors = Counter()
        self.pledges_used = Counter()
        self.meetings_used = Counter()
        self.statement_claims: list[tuple[str, str, dict]] = []  # (stem, id, statement)
        self.claims_total = 0
        self.kind_counts = Counter()

    def make_article(self, index: int, rng: random.Random, stem: str) -> Article:
        w = self.world
        outlet = w.outlets[rng.randrange(len(w.outlets))]
        roll = rng.random()
        if roll < 0.36:
            art = self._meeting_story(rng, stem, outlet)
        elif roll < 0.54:
            art = self._pledge_story(rng, stem, outlet)
        elif roll < 0.78:
            art = self._statement_story(rng, stem, outlet)
        elif roll < 0.86:
            art = self._figure_story(rng, stem, outlet)
        elif roll < 0.93 and self.statement_claims:
            art = self._dispute_story(rng, stem, outlet)
        else:
            art = self._incident_story(rng, stem, outlet)
        return art

    # --- stories -------------------------------------------------------------------------------

    def _meeting_story(self, rng, stem, outlet):
        w = self.world
        m = w.meetings[rng.randrange(len(w.meetings))]
        future = m["status"] == "planned" and m["date"] > DATE_LO + dt.timedelta(days=30)
        if future:
            published = m["date"] - dt.timedelta(days=rng.randint(1, 25))
            expr, prose = future_expr(m["date"])
        else:
            published = min(DATE_HI + dt.timedelta(days=60),
                             m["date"] + dt.timedelta(days=int(rng.expovariate(1 / 6))))
            expr, prose = date_expr(m["date"], published, rng)
        art = Article(stem, outlet, published)
        self.meetings_used[m["label"]] += 1
        place = m["place"]["label"]
        parts = m["participants"]
        a0 = w.actor_name(rng, parts[0][0])
        a1 = w.actor_name(rng, parts[1][0])
        word = m["word"]
        mname = rng.choice([m["label"], m["key"]])
        art.headline = f"{a0} and {a1} {'to meet' if future else 'in ' + word} in {place}"
        claims_wanted = rng.choice([1, 1, 1, 2])
        topic = m["topic"]
        tense = {"tense": "future"} if future else {}
        # the meeting itself
        if future:
            s = (f"{a0} and {a1} are expected to hold {word} in {place} {prose} on "
                 f"{topic['text']}, officials said.")
            fields = {"meeting": mname, "status": "planned", "place": place,
                      "topic": [topic["key"]], "date": expr, **tense}
            if rng.random() < 0.5:
                fields["proposed_by"] = w.actor_name(rng, m["proposer"])
        elif m["status"] == "held":
            s = f"{a0} and {a1} held {word} in {place} {prose} on {topic['text']}."
            fields = {"meeting": mname, "status": "held", "place": place,
                      "topic": [topic["key"]], "date": expr}
            if rng.random() < 0.3:
                fields["outcome"] = "agreement"
                s = s[:-1] + " and reached an agreement."
        elif m["status"] == "failed":
            s = (f"The {word} between {a0} and {a1} in {place} {prose} on {topic['text']} "
                 f"ended without agreement.")
            fields = {"meeting": mname, "status": "failed", "place": place,
                      "outcome": "no_agreement", "date": expr}
        else:  # postponed / cancelled / planned in the past
            st = m["status"] if m["status"] != "planned" else "postponed"
            verb = {"postponed": "was postponed", "cancelled": "was called off"}[st]
            s = f"The {word} between {a0} and {a1} in {place} set for {prose[3:]} {verb}."
            fields = {"meeting": mname, "status": st, "place": place, "date": expr}
        art.sentences.append(s)
        if future or rng.random() < 0.55:
            src = art.source(rng, _state_of(parts[0][0])) if rng.random() < 0.3 else None
            art.claim("meeting", s, fields, [src] if src else None)
        # attendance
        for actor, statuses in rng.sample(parts, min(len(parts), claims_wanted)):
            name = w.actor_name(rng, actor)
            if statuses == ["attended"]:
                role = rng.choice([None, None, "head of delegation", "host", "observer"])
                s = (f"{name} attended the {word} in {place}" +
                     (f" as {role}" if role else "") + ".")
                fields = {"meeting": m["key"], "actor": name, "status": "attended",
                          "date": expr, **tense}
                if role:
                    fields["role"] = role
                if future:
                    continue
            elif statuses == ["expected"]:
                s = f"{name} is expected at the {word} in {place}."
                fields = {"meeting": m["key"], "actor": name, "status": "expected"}
            elif "declined" in statuses:
                s = f"{name} declined an invitation to the {word} in {place}."
                fields = {"meeting": m["key"], "actor": name, "status": "declined",
                          "date": expr}
                self.noshow_meetings[m["label"]] += 1
            else:
                s = f"{name} failed to show up for the {word} in {place} {prose}."
                st = statuses if len(statuses) > 1 else statuses[0]
                fields = {"meeting": m["label"], "actor": name, "status": st, "date": expr}
                self.noshow_meetings[m["label"]] += 1
            art.sentences.append(s)
            self.attend_count[actor["label"]] += 1
            src = None
            if rng.random() < 0.25:
                src = art.source(rng, _state_of(actor))
            art.claim("attendance", s, fields, [src] if src else None)
        return art

    def _pledge_story(self, rng, stem, outlet):
        w = self.world
        p = w.pledges[rng.randrange(len(w.pledges))]
        self.pledges_used[p["key"]] += 1
        history = [("made", p["date"], p["by"][0])] + p["steps"]
        idx = rng.randrange(len(history))
        report_made = idx == 0 or rng.random() < 0.25
        step, day, actor = history[idx]
        published = min(DATE_HI + dt.timedelta(days=60),
                        day + dt.timedelta(days=int(rng.expovariate(1 / 8))))
        art = Article(stem, outlet, published)
        by_names = [w.actor_name(rng, a) for a in p["by"]]
        art.headline = f"{by_names[0]} and the pledge to {p['content']}"
        # the pledge as made (always reported, as background when a later step is the news)
        expr, prose = date_expr(p["date"], published, rng)
        to_names = [w.actor_name(rng, a) for a in p["to"]]
        who = " and ".join(by_names)
        s = f"{who} pledged" + (f" to {to_names[0]}" if to_names else "") + \
            f" to {p['content']}"
        fields = {"pledge": p["key"], "by": by_names}
        if to_names:
            fields["to"] = to_names
        fields["content"] = p["content"]
        if p["meeting"]:
            s += f" at the {p['meeting']['word']} in {p['meeting']['place']['label']}"
            fields["meeting"] = p["meeting"]["key"]
        if p["document"]:
            s += f", in {p['document']['label']},"
            fields["document"] = p["document"]["label"]
        s += f" {prose}."
        fields["topic"] = [p["topic"]["key"]]
        fields["date"] = expr
        art.sentences.append(s)
        if report_made:
            art.claim("pledge", s, fields)
            for a in p["by"]:
                self.pledgers[a["label"]] += 1
        # the later step that is the news (and, sometimes, the one before it)
        for step, day, actor in history[1:idx + 1][-rng.choice([1, 1, 2]):]:
            expr, prose = date_expr(day, published, rng)
            prose2 = prose[3:] if prose.startswith("on ") else prose
            name = w.actor_name(rng, actor)
            phrase = _STEP_PHRASES[step].format(actor=name, content=p["content"], prose=prose,
                                                prose2=prose2)
            s = phrase[0].upper() + phrase[1:] + "."
            description = s[:-1].split(" since ")[0]
            fields = {"pledge": rng.choice([p["key"], p["label"]]), "step": step,
                      "actor": name, "date": expr}
            if description and description in s:
                fields["description"] = description
            src = art.source(rng, None) if rng.random() < 0.3 else None
            art.sentences.append(s)
            art.claim("pledge_step", s, fields, [src] if src else None)
        return art

    def _statement_story(self, rng, stem, outlet, published=None):
        w = self.world
        st = w.statements[rng.randrange(len(w.statements))]
        if published is None:
            published = min(DATE_HI + dt.timedelta(days=60),
                            st["date"] + dt.timedelta(days=int(rng.expovariate(1 / 4))))
        art = Article(stem, outlet, published)
        self._statement(rng, art, st)
        return art

    def _statement(self, rng, art, st):
        w = self.world
        sp = st["speaker"]
        name = w.actor_name(rng, sp)
        if (art.published - st["date"]).days > 7 or rng.random() < 0.7:
            expr, prose = date_expr(st["date"], art.published, rng)
        else:
            monday = art.published - dt.timedelta(days=art.published.weekday())
            if monday - dt.timedelta(days=7) <= st["date"] < monday:
                expr, prose = "last week", "last week"
            else:
                expr, prose = date_expr(st["date"], art.published, rng)
        office = None
        if sp["kind"] == "person" and rng.random() < 0.3:
            org = sp["org"]
            lead = f"{sp['title']} {sp['label']} of {org['label']}"
            office = (lead, {"holder": sp["label"], "title": sp["title"], "org": org["key"],
                             "date": art.published.isoformat()})
            s = f'"{st["text"]}," said {lead} {prose}.'
        else:
            s = f'"{st["text"]}," {name} said {prose}.'
        if not art.headline:
            art.headline = f"{sp['label']}: {st['text'][:60]}"
        fields = {"speaker": name if office is None else sp["label"], "text": st["text"],
                  "about": st["about"]}
        if st["stance"]:
            fields["stance"] = st["stance"]
        if sp["kind"] == "person" and rng.random() < 0.2:
            s = s[:-1] + f", speaking for {sp['state']['label']}."
            fields["on_behalf_of"] = sp["state"]["label"]
        fields["date"] = expr
        art.sentences.append(s)
        cid = art.claim("statement", s, fields)
        self.statement_claims.append((art.stem, cid, st))
        self.speakers[sp["label"]] += 1
        if st["other"]["key"] in st["about"]:
            self.about_actors[st["other"]["label"]] += 1
        self.topics_used[st["topic"]["key"]] += 1
        if office:
            art.claim("office", office[0], office[1])
            self.holders[sp["label"]] += 1
        return cid

    def _figure_story(self, rng, stem, outlet):
        w = self.world
        m = w.measures[rng.randrange(len(w.measures))]
        day = DATE_LO + dt.timedelta(days=rng.randrange((DATE_HI - DATE_LO).days))
        published = day + dt.timedelta(days=rng.randint(0, 10))
        art = Article(stem, outlet, published)
        giver = w._pick_actors(1, kinds=("state", "ministry", "agency", "military",
                                         "organization"))[0]
        gname = w.actor_name(rng, giver)
        value = m["value"] if rng.random() < 0.75 else m["value"] + rng.choice([-1, 1]) * rng.randint(1, 9) * 10
        approx = rng.random() < 0.3
        expr, prose = date_expr(day, published, rng)
        s = (f"{gname} said {'about ' if approx else ''}{value:,} {m['text']} "
             f"had been counted {prose}.")
        fields = {"measure": m["key"], "value": value, "unit": m["unit"], "given_by": gname}
        if approx:
            fields["approximate"] = True
        fields["date"] = expr
        art.headline = f"{value:,} {m['text']}, says {gname}"
        art.sentences.append(s)
        art.claim("figure", s, fields)
        self.measures_used[m["key"]] += 1
        if rng.random() < 0.25:
            self._relation(rng, art)
        return art

    def _dispute_story(self, rng, stem, outlet):
        w = self.world
        target_stem, target_id, st = self.statement_claims[
            rng.randrange(max(0, len(self.statement_claims) - 2000), len(self.statement_claims))]
        published = min(DATE_HI + dt.timedelta(days=90),
                        st["date"] + dt.timedelta(days=rng.randint(8, 40)))
        art = Article(stem, outlet, published)
        # the disputer quoted too, then the dispute of the other article's statement
        disputer = st["other"] if st["other"]["key"] != st["speaker"]["key"] else \
            w._pick_actors(1)[0]
        dname = w.actor_name(rng, disputer)
        relation = rng.choice(["denies", "contradicts"])
        verb = "rejected as false" if relation == "denies" else "disputed"
        s = f"{dname} {verb} the remarks of {st['speaker']['label']} on {st['topic']['text']}."
        art.sentences.append(s)
        art.headline = f"{dname} hits back at {st['speaker']['label']}"
        art.claim("dispute", s, {"target": f"{target_stem}#{target_id}", "relation": relation,
                                 "by": dname})
        self.disputers[disputer["label"]] += 1
        if rng.random() < 0.3:
            # and a same-article dispute: quote the statement, then dispute it here
            cid = self._statement(rng, art, st)
            s2 = f"{dname} said that account was wrong."
            art.sentences.append(s2)
            art.claim("dispute", s2, {"target": cid, "relation": "contradicts", "by": dname})
        return art

    def _incident_story(self, rng, stem, outlet):
        w = self.world
        inc = w.incidents[rng.randrange(len(w.incidents))]
        published = inc["date"] + dt.timedelta(days=rng.randint(0, 12))
        art = Article(stem, outlet, published)
        expr, prose = date_expr(inc["date"], published, rng)
        name = w.actor_name(rng, inc["actor"])
        desc = f"{inc['what']} near {inc['place']['label']}"
        s = f"{name} was blamed for {desc} {prose}."
        art.headline = f"{inc['label']}"
        art.sentences.append(s)
        art.claim("incident", s, {"incident": inc["key"], "actor": [name],
                                  "place": inc["place"]["label"], "description": desc,
                                  "date": expr})
        if rng.random() < 0.3:
            self._relation(rng, art)
        return art

    def _relation(self, rng, art):
        w = self.world
        a, b = w._pick_actors(2)
        an, bn = w.actor_name(rng, a), w.actor_name(rng, b)
        if rng.random() < 0.5:
            s = f"{an} has been in contact with {bn} for weeks."
            pred = "in_contact_with"
        else:
            s = f"{an} requested talks with {bn}."
            pred = "requested"
        art.sentences.append(s)
        art.claim("relation", s, {"subject": an, "predicate": pred, "object": bn})

    # --- writing -------------------------------------------------------------------------------

    def render(self, art: Article, rng) -> tuple[str, str, str]:
        """(text, metadata yaml, claims yaml) of one article."""
        lines = []
        furniture = list(art.outlet["furniture"])
        if furniture:
            lines.append(furniture[0])
        if art.headline and rng.random() < 0.8:
            headline = art.headline
            lines.append(headline)
        else:
            headline = None
        body = []
        fill = rng.sample(_FILLER, rng.randint(2, 5))
        for s in art.sentences:
            body.append(s)
            if fill and rng.random() < 0.6:
                body.append(fill.pop())
        body.extend(fill)
        # paragraphs of 1-3 sentences
        i = 0
        while i < len(body):
            k = rng.randint(1, 3)
            lines.append(" ".join(body[i:i + k]))
            i += k
        if len(furniture) > 1:
            lines.append(furniture[1])
        text = "\n\n".join(lines) + "\n"
        raw = text.encode("utf-8")
        sha = hashlib.sha256(raw).hexdigest()
        meta = [f"sha256: {sha}", f"outlet: {art.outlet['key']}",
                f"published: {art.published.isoformat()}",
                f"headline: {q(headline) if headline else 'null'}"]
        notes = []
        if rng.random() < 0.5:
            notes.append(f"  published: {{method: inferred, evidence: {q('dates in the text, read against the outlet page')}}}")
        if rng.random() < 0.2:
            notes.append(f"  outlet: {{method: curated, evidence: {q('the feed it came from')}}}")
        if notes:
            meta.append("notes:")
            meta.extend(notes)
        if furniture:
            meta.append("furniture:")
            meta.extend(f"  - {q(f)}" for f in furniture)
        else:
            meta.append("furniture: []")
        meta_text = "\n".join(meta) + "\n"
        out = [f"# Synthetic claims (benchmark corpus, generator v{GENERATOR_VERSION}).",
               f"article: {q(art.stem)}"]
        if art.sources:
            out.append("sources:")
            for key, src in art.sources.items():
                f = {"label": src["label"], "kind": src["kind"]}
                if src["affiliation"]:
                    f["affiliation"] = src["affiliation"]
                out.append(f"  {key}: {yaml_flow(f)}")
        out.append("claims:")
        for c in art.claims:
            out.append(f"  - id: {c['id']}")
            out.append(f"    quote: {q(c['quote'])}")
            if c.get("according_to"):
                out.append(f"    according_to: {yaml_value(c['according_to'])}")
            out.append(f"    {c['kind']}: {yaml_flow(c['fields'])}")
            self.kind_counts[c["kind"]] += 1
        self.claims_total += len(art.claims)
        return text, meta_text, "\n".join(out) + "\n"

    def write(self, art: Article, rng, articles_dir: Path, claims_dir: Path):
        text, meta, claims = self.render(art, rng)
        _write(f"{articles_dir}/{art.stem}.txt", text)
        _write(f"{articles_dir}/{art.stem}.yaml", meta)
        _write(f"{claims_dir}/{art.stem}.yaml", claims)


def _write(path: str, text: str) -> None:
    # os.open/os.write: a third cheaper than open() for 300k small files
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


def _stem(index: int, seed: int, prefix: str = "") -> str:
    return f"{prefix}{index:06d}_{hashlib.sha256(f'{seed}-{prefix}{index}'.encode()).hexdigest()[:16]}"


def _top(counter: Counter, k=1):
    return [name for name, _ in counter.most_common(k)]


def _median(counter: Counter):
    items = sorted(counter.items(), key=lambda kv: (kv[1], kv[0]))
    return items[len(items) // 2][0] if items else None


def generate(n: int, out: Path | str, *, seed: int = 1, fresh: int = 12,
             verbose: bool = False) -> dict:
    """Write a corpus of ``n`` articles to ``out`` (replacing it); returns the manifest."""
    t0 = time.perf_counter()
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    for sub in ("articles", "claims", "entities", "fresh/articles", "fresh/claims"):
        (out / sub).mkdir(parents=True)
    world = World(n, seed)
    world.write_entities(out / "entities")
    with open(out / "wikidata.tsv", "w", encoding="utf-8") as fh:
        fh.write("# Synthetic identifiers for the benchmark corpus (not real Wikidata items).\n")
        fh.write("label\twikidata\tconfirmed_by\n")
        for label, qid in world.wikidata:
            fh.write(f"{label}\t{qid}\tsynthetic benchmark data\n")
    writer = Writer(world, out, seed)
    rng = random.Random(f"articles-{n}-{seed}")
    arts_dir, claims_dir = out / "articles", out / "claims"
    for i in range(n):
        art = writer.make_article(i, rng, _stem(i, seed))
        writer.write(art, rng, arts_dir, claims_dir)
        if verbose and i and i % 20000 == 0:
            print(f"  {i} articles, {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    corpus_claims = writer.claims_total
    # fresh articles for `kg add`: meeting reports with several claims, plus a dispute of a
    # statement in the corpus (so the add resolves a cross-article reference)
    frng = random.Random(f"fresh-{n}-{seed}")
    fresh_stems = []
    for i in range(fresh):
        stem = _stem(i, seed, prefix="zz_fresh")
        art = writer._meeting_story(frng, stem, world.outlets[i % len(world.outlets)])
        if writer.statement_claims and i % 2 == 0:
            tstem, tid, st = writer.statement_claims[frng.randrange(len(writer.statement_claims))]
            if tstem != stem:
                s = f"{st['other']['label']} rejected as false the remarks of {st['speaker']['label']}."
                art.sentences.append(s)
                art.claim("dispute", s, {"target": f"{tstem}#{tid}", "relation": "denies",
                                         "by": st["other"]["label"]})
        writer.write(art, frng, out / "fresh/articles", out / "fresh/claims")
        fresh_stems.append(stem)

    # sample parameters for the named queries, from what the articles actually say
    some_meeting = _median(writer.meetings_used) or world.meetings[0]["label"]
    pledge = _median(writer.pledges_used)
    # the day of the sample pledge's last step: asked for its status then, it has one (at a
    # fixed mid-range date, a pledge made later has none, and the question found no row)
    sample = next((p for p in world.pledges if p["key"] == pledge), None)
    status_day = (max([sample["date"]] + [day for _s, day, _by in sample["steps"]])
                  if sample else DATE_LO + (DATE_HI - DATE_LO) / 2).isoformat()
    person = _median(Counter({k: v for k, v in writer.attend_count.items()
                              if any(p["label"] == k for p in world.persons)})) \
        or world.persons[0]["label"]
    surname = person.split(" ", 1)[1].lower()
    params = {
        "actor_hub": _top(writer.attend_count)[0],
        "actor_typical": _median(writer.attend_count),
        "person": person,
        "name_fragment": surname,
        "meeting": some_meeting,
        "noshow_meeting": _median(writer.noshow_meetings) or some_meeting,
        "pledger": _median(writer.pledgers),
        "pledge": pledge,
        "date": status_day,
        "speaker": _median(writer.speakers),
        "about": _median(writer.about_actors),
        "topic": _top(writer.topics_used)[0],
        "measure": _median(writer.measures_used),
        "disputer": _median(writer.disputers) or _top(writer.speakers)[0],
        "holder": _median(writer.holders),
        "chain_a": _top(writer.attend_count, 40)[-1],
        "chain_b": _median(writer.attend_count),
        "ego": _top(writer.attend_count, 10)[-1],
    }
    with open(out / "params.json", "w", encoding="utf-8") as fh:
        json.dump(params, fh, indent=2, ensure_ascii=False)
    elapsed = time.perf_counter() - t0
    manifest = {
        "generator_version": GENERATOR_VERSION, "articles": n, "seed": seed,
        "claims": corpus_claims, "claims_per_article": round(corpus_claims / n, 3),
        "claim_kinds": dict(sorted(writer.kind_counts.items())),
        "entities": len(world.entities),
        "actors": len(world.actors) + len(world.outlets), "outlets": len(world.outlets),
        "places": len(world.places), "meetings": len(world.meetings),
        "pledges": len(world.pledges), "statements_pool": len(world.statements),
        "fresh": fresh_stems, "files": 3 * n + len(list((out / "entities").glob("*.yaml"))),
        "generate_seconds": round(elapsed, 2),
    }
    with open(out / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2)
    return manifest


def check(out: Path | str) -> dict:
    """Load a generated corpus with kg's own loader (raises on any error); returns counts."""
    from kg.pipeline import load_corpus

    t0 = time.perf_counter()
    corpus = load_corpus(out)
    claims = sum(len(c.claims) for c in corpus.claim_sets.values())
    return {"articles": len(corpus.articles), "claims": claims,
            "entities": len(corpus.registry), "load_seconds": round(time.perf_counter() - t0, 2)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("articles", type=int, help="number of articles")
    ap.add_argument("out", type=Path, help="directory to write (replaced if it exists)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--fresh", type=int, default=12,
                    help="extra articles written to OUT/fresh/ for timing `kg add` (default 12)")
    ap.add_argument("--check", action="store_true",
                    help="then load the corpus with kg.pipeline.load_corpus (must not fail)")
    args = ap.parse_args(argv)
    manifest = generate(args.articles, args.out, seed=args.seed, fresh=args.fresh, verbose=True)
    print(json.dumps({k: v for k, v in manifest.items() if k != "fresh"}, indent=2))
    if args.check:
        print("loader:", json.dumps(check(args.out)))


if __name__ == "__main__":
    main()
