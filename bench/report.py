#!/usr/bin/env python3
"""Helpers for bench/run.sh, and the report it prints (python3 stdlib only).

    report.py range-regex LO HI     a regex matching exactly the integers LO..HI
    report.py rps FILE              requests/s of one oha JSON result
    report.py probe KIND ARGS...    checks one API answer (see probe())
    report.py summary RUN_DIR       the table, the cost-growth checks, the targets;
                                    writes RUN_DIR/summary.md and summary.json; exits 1
                                    when a scenario is missing, had errors or a probe failed
"""

import json
import os
import sys

# ---------------------------------------------------------------------------------------
# range-regex


def range_regex(lo: int, hi: int) -> str:
    """A regex matching exactly the decimal integers lo..hi, of the form
    prefix [a-b] [0-9]{k}, so that oha's generator draws every id equally often. Only
    such aligned ranges are accepted (lo = p·a·0…0, hi = p·b·9…9); run.sh picks them."""
    a, b = str(lo), str(hi)
    if lo > hi or len(a) != len(b):
        raise ValueError(f"{lo}..{hi} is not an aligned range")
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    rest = len(a) - i
    if rest == 0:
        return a
    if a[i + 1:] != "0" * (rest - 1) or b[i + 1:] != "9" * (rest - 1):
        raise ValueError(f"{lo}..{hi} is not an aligned range (like 10000..19999)")
    out = a[:i] + f"[{a[i]}-{b[i]}]"
    if rest > 1:
        out += "[0-9]" + (f"{{{rest - 1}}}" if rest > 2 else "")
    return out


# ---------------------------------------------------------------------------------------
# oha results


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def figures(run_dir, name):
    """requests/s, p50 and p99 (ms), status counts, error count and CPU of one run. A mix
    (NAME-reads.json and NAME-writes.json, run side by side) is reported as one: the rates
    and counts added, the percentiles of its reads."""
    if not os.path.exists(os.path.join(run_dir, name + ".json")) and os.path.exists(
        os.path.join(run_dir, name + "-reads.json")
    ):
        reads = figures(run_dir, name + "-reads")
        writes = figures(run_dir, name + "-writes")
        if reads is None or writes is None:
            return None
        meta = load(os.path.join(run_dir, name + ".meta.json")) or {}
        statuses = dict(reads["statuses"])
        for k, v in writes["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
        out = dict(reads)
        out.update(
            name=name,
            rps=reads["rps"] + writes["rps"],
            requests=reads["requests"] + writes["requests"],
            errors=reads["errors"] + writes["errors"],
            failures={**reads["failures"], **writes["failures"]},
            statuses=statuses,
            cpu_server=meta.get("server_cpu_s"),
            cpu_pg=meta.get("pg_cpu_s"),
            cpu_busy=meta.get("busy_cpu_s"),
            writes=writes,
        )
        return out
    data = load(os.path.join(run_dir, name + ".json"))
    if data is None:
        return None
    summary = data.get("summary", {})
    pct = data.get("latencyPercentiles", {})
    statuses = {str(k): int(v) for k, v in (data.get("statusCodeDistribution") or {}).items()}
    failures = {k: int(v) for k, v in (data.get("errorDistribution") or {}).items()}
    requests = sum(statuses.values())
    bad_status = sum(v for k, v in statuses.items() if not k.startswith("2"))
    meta = load(os.path.join(run_dir, name + ".meta.json")) or {}
    wall = summary.get("total") or meta.get("wall_s") or 0
    # oha's requestsPerSec counts failed requests too; count answered ones only.
    rps = requests / wall if wall else 0.0
    return {
        "name": name,
        "rps": rps,
        "p50": (pct.get("p50") or 0) * 1000,
        "p99": (pct.get("p99") or 0) * 1000,
        "requests": requests,
        "statuses": statuses,
        "errors": bad_status + sum(failures.values()),
        "failures": failures,
        "wall": wall,
        "cpu_server": meta.get("server_cpu_s"),
        "cpu_pg": meta.get("pg_cpu_s"),
        "cpu_busy": meta.get("busy_cpu_s"),
    }


def merge(runs):
    """Several runs of one scenario (ABBA halves) as one: mean rate and percentiles."""
    runs = [r for r in runs if r]
    if not runs:
        return None
    n = len(runs)
    out = dict(runs[0])
    for key in ("rps", "p50", "p99"):
        out[key] = sum(r[key] for r in runs) / n
    for key in ("requests", "errors"):
        out[key] = sum(r[key] for r in runs)
    statuses = {}
    for r in runs:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    out["statuses"] = statuses
    return out


def rps_of(path):
    data = load(path)
    return (data or {}).get("summary", {}).get("requestsPerSec") or 0.0


# ---------------------------------------------------------------------------------------
# probes


def probe(kind, args):
    """Checks one API answer read from a file; prints what it found, exits 1 on a mismatch.

    checkin FILE DAYS      a first check-in after DAYS unbroken days: 201, streak DAYS+1
    streak FILE DAYS       a goals page whose first goal shows a live streak of DAYS
    stats FILE TOTAL       a user's stats counting TOTAL check-ins
    heatmap FILE GOALS     a default heatmap of 365 to 371 days, GOALS check-ins on
                           every day but the last (today)
    """
    path, days = args[0], int(args[1])
    with open(path) as f:
        raw = f.read()
    body, _, code = raw.rpartition("\n")
    try:
        doc = json.loads(body)
    except ValueError:
        print(f"probe {kind}: not JSON (HTTP {code}): {body[:200]}")
        return 1
    if kind == "checkin":
        s = doc.get("streak", {})
        want = (days + 1, days + 1, 2)
        got = (s.get("streak_count"), s.get("longest_streak"), s.get("freezes_available"))
        ok = code == "201" and got == want
        print(f"probe check-in: HTTP {code}, streak/longest/freezes {got}, expected {want}: "
              + ("ok" if ok else "MISMATCH"))
    elif kind == "streak":
        first = doc[0] if isinstance(doc, list) and doc else {}
        want = (days, days, 2)
        got = (first.get("streak_count"), first.get("longest_streak"), first.get("freezes_available"))
        ok = code == "200" and got == want
        print(f"probe seeded streak: HTTP {code}, streak/longest/freezes {got}, expected {want}: "
              + ("ok" if ok else "MISMATCH"))
    elif kind == "stats":
        got = doc.get("checkins_total") if isinstance(doc, dict) else None
        ok = code == "200" and got == days
        print(f"probe seeded stats: HTTP {code}, checkins_total {got}, expected {days}: "
              + ("ok" if ok else "MISMATCH"))
    elif kind == "heatmap":
        per_day = [d.get("checkins") for d in doc.get("days", [])] if isinstance(doc, dict) else []
        want = [days] * (len(per_day) - 1) + [0]
        ok = code == "200" and 365 <= len(per_day) <= 371 and per_day == want
        print(f"probe seeded heatmap: HTTP {code}, {len(per_day)} days, "
              f"total_checkins {doc.get('total_checkins') if isinstance(doc, dict) else None}, "
              f"expected {days} a day but today: " + ("ok" if ok else "MISMATCH"))
    else:
        print(f"unknown probe {kind}")
        return 2
    return 0 if ok else 1


# ---------------------------------------------------------------------------------------
# summary

# (scenario id, label, reference id, is a read)
SCENARIOS = [
    ("profile", "public profile  GET /users/{id}", "ref-profile", True),
    ("me", "/me  GET /users/me (HS256 JWT)", "ref-profile", True),
    ("goals", "goals list  GET /users/{id}/goals", "ref-goals", True),
    ("badges", "badges list  GET /users/{id}/badges", "ref-goals", True),
    ("stats", "stats  GET /users/{id}/stats", "ref-goals", True),
    ("heatmap", "heatmap  GET /users/{id}/heatmap (53 weeks)", "ref-goals", True),
    ("card", "card  GET /users/{id}/card.svg", "ref-goals", True),
    ("feed", "home feed, first page (a reader following 1,000 users)", "ref-goals", True),
    ("feed-deep", "home feed, 50th page (the same reader)", "ref-goals", True),
    ("post-goal", "POST goal (one user's token)", "ref-insert-one", False),
    ("post-checkin", "POST check-in (goals with a year of history)", "ref-insert-one", False),
    ("put-profile", "PUT profile (one user's bio, four bodies at random)", "ref-insert-one", False),
    ("mix", "mix 90/10: reads of many users, POST goal", "ref-mix", False),
]
REFERENCE = [
    ("ref-plain", "GET /plain (no database)"),
    ("ref-profile", "GET /users/{id}"),
    ("ref-goals", "GET /users/{id}/goals"),
    ("ref-insert", "POST /users/{id}/goals, ids rotating"),
    ("ref-insert-one", "POST /users/{id}/goals, one user"),
    ("ref-mix", "mix 90/10: GET profile or goals, POST goal (one user)"),
]
BACKENDS = [("pg", "PostgreSQL"), ("sqlite", "SQLite")]

# Settings measured on their own (bench/run.sh `variant`), PostgreSQL: (id, label, the
# scenario without the setting, reference id, floor of the ratio to the reference or None).
VARIANTS = [
    ("me-denylist", "/me with JWT_DENYLIST_TABLE (answers kept 5 s)", "me", "ref-profile", 0.6),
    ("me-denylist-nocache", "/me with JWT_DENYLIST_TABLE, JWT_DENYLIST_CACHE_SECS=0", "me",
     "ref-profile", None),
    ("profile-metrics-off-1", "public profile, METRICS_ENABLED=false (A)", "profile", "ref-profile", None),
    ("profile-metrics-on-1", "public profile, metrics on (B)", "profile-metrics-off-1", "ref-profile", None),
    ("profile-metrics-on-2", "public profile, metrics on (B)", "profile-metrics-off-2", "ref-profile", None),
    ("profile-metrics-off-2", "public profile, METRICS_ENABLED=false (A)", "profile", "ref-profile", None),
    ("me-redis-limit", "/me, RATE_LIMIT_REDIS_URL (a limit never reached)", "me", "ref-profile", 0.6),
]

# Metrics on (B) against off (A), measured A B B A: the profile read may lose at most this.
METRICS_COST = 0.05
# Publishing events (bench/run.sh `events_run`), PostgreSQL: (id, label, runs off, runs on).
# POST goal runs off, on, on, off; POST check-in off then on, each on goals of its own.
EVENTS = [
    ("goal", "POST goal (one user's token)", ["off1", "off2"], ["on1", "on2"]),
    ("checkin", "POST check-in (goals with a year of history)", ["off"], ["on"]),
]
# The cost target: with publishing on, within 10% of the throughput with it off.
EVENTS_FLOOR = 0.9

# Read targets (ratio to the matching reference route, PostgreSQL).
RATIO_TARGETS = {
    "profile": 0.8,
    "me": 0.7,
    "goals": 0.6,
    "badges": 0.6,
    "post-goal": 0.4,
    "post-checkin": 0.3,
    "put-profile": 0.6,
    "feed": 0.5,
}


def read_meta(run_dir):
    meta = {}
    try:
        with open(os.path.join(run_dir, "meta.txt")) as f:
            for line in f:
                key, sep, value = line.rstrip("\n").partition("=")
                if sep:
                    meta[key] = value
    except OSError:
        pass
    return meta


def fmt_rps(v):
    return f"{v:,.0f}" if v is not None else "—"


def fmt_ms(v):
    if v is None:
        return "—"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def cpu_cols(r):
    """Server, PostgreSQL and everything else (oha, and any other load) in CPU µs per
    answered request."""
    if not r or not r.get("requests") or r.get("cpu_server") is None:
        return "—", "—", "—"
    per = 1e6 / r["requests"]
    srv, pg = r["cpu_server"], r.get("cpu_pg") or 0
    rest = max(0.0, (r.get("cpu_busy") or 0) - srv - pg)
    return f"{srv * per:.0f}", f"{pg * per:.0f}", f"{rest * per:.0f}"


def mean_cpu_cols(run_dir, names):
    """cpu_cols of several runs of one scenario, averaged column by column."""
    cols = [cpu_cols(figures(run_dir, name)) for name in names]
    out = []
    for i in range(3):
        vals = [float(c[i]) for c in cols if c[i] != "—"]
        out.append(f"{sum(vals) / len(vals):.0f}" if vals else "—")
    return out


def summary(run_dir):
    meta = read_meta(run_dir)
    quick = meta.get("quick") == "1"
    limit = meta.get("limit") == "1"
    problems = []
    out = []
    w = out.append

    def need(name, label):
        r = figures(run_dir, name)
        if r is None:
            problems.append(f"{label}: no result ({name}.json)")
        elif r["requests"] == 0:
            problems.append(f"{label}: no request answered")
        elif r["errors"]:
            problems.append(f"{label}: {r['errors']} errors {r['failures'] or ''} "
                            f"statuses {r['statuses']}")
        return r

    ref = {}
    if limit:
        for rid, label in REFERENCE:
            ref[rid] = need(rid, "reference " + label)

    w(f"user-service benchmark — {meta.get('date', '?')}"
      + ("  (--quick: short runs, small seed; figures are indicative only)" if quick else ""))
    w(f"machine: {meta.get('cpus', '?')} cores, {meta.get('cpu_model', '?')}, "
      f"{meta.get('mem', '?')} memory; oha {meta.get('oha', '?')}; PostgreSQL {meta.get('pg_version', '?')}; "
      f"SQLite {meta.get('sqlite_version', '?')}")
    w(f"CPUs busy before the run: {meta.get('busy_before', '?')}; load average before and after: "
      f"{meta.get('load_before', '?')} / {meta.get('load_after', '?')}; "
      f"service commit {meta.get('commit', '?')}")
    w(f"load: {meta.get('connections', '?')} connections, {meta.get('duration', '?')} per scenario "
      f"after {meta.get('warmup', '?')} warm-up; pool {meta.get('pool', '?')} (service "
      f"DB_MAX_CONNECTIONS and reference POOL); seed: {meta.get('users', '?')} users x 20 goals, "
      f"{meta.get('checkins_pg', '?')} check-ins on PostgreSQL")
    if not limit:
        w("reference: NOT AVAILABLE (" + meta.get("limit_dir", "?") + " missing): absolute figures only")
    w("")

    header = ("| scenario | backend | req/s | p50 ms | p99 ms | errors | ratio to ref | "
              "ref p99 x | CPU µs/req: server | PostgreSQL | oha + rest | notes |")
    w(header)
    w("|" + "---|" * 12)
    results = {}
    for backend, bname in BACKENDS:
        for sid, label, rid, is_read in SCENARIOS:
            name = f"{backend}-{sid}"
            r = need(name, f"{bname} {label}")
            results[name] = r
            if r is None:
                w(f"| {label} | {bname} | — | — | — | missing | — | — | — | — | — | |")
                continue
            rr = ref.get(rid) if limit else None
            ratio = r["rps"] / rr["rps"] if rr and rr["rps"] else None
            p99x = r["p99"] / rr["p99"] if rr and rr["p99"] and is_read else None
            notes = []
            if sid == "post-checkin":
                notes.append(f"201: {r['statuses'].get('201', 0):,}, 200: {r['statuses'].get('200', 0):,}")
            if sid == "mix":
                wr = r.get("writes")
                if wr:
                    share = wr["requests"] / r["requests"] if r["requests"] else 0
                    notes.append(f"writes {share:.1%}, write p99 {fmt_ms(wr['p99'])} ms")
            if backend == "sqlite" and rid:
                notes.append("ratio to the PostgreSQL reference")
            cs, cp, co = cpu_cols(r)
            if backend == "sqlite":
                cp = "—"
            w(f"| {label} | {bname} | {fmt_rps(r['rps'])} | {fmt_ms(r['p50'])} | {fmt_ms(r['p99'])} | "
              f"{r['errors']} | {f'{ratio:.2f}' if ratio is not None else '—'} | "
              f"{f'{p99x:.2f}' if p99x is not None else '—'} | {cs} | {cp} | {co} | {'; '.join(notes)} |")
    if limit:
        for rid, label in REFERENCE:
            r = ref.get(rid)
            if r is None:
                continue
            cs, cp, co = cpu_cols(r)
            notes = ""
            if rid == "ref-mix":
                wr = r.get("writes")
                if wr and r["requests"]:
                    notes = f"writes {wr['requests'] / r['requests']:.1%}, write p99 {fmt_ms(wr['p99'])} ms"
            w(f"| reference: {label} | PostgreSQL | {fmt_rps(r['rps'])} | {fmt_ms(r['p50'])} | "
              f"{fmt_ms(r['p99'])} | {r['errors']} | 1 | 1 | {cs} | {cp} | {co} | {notes} |")
    w("")
    w("Settings that cost something (PostgreSQL, each on a service started with it alone)")
    w("")
    w("| setting | req/s | p50 ms | p99 ms | errors | vs without | ratio to ref |")
    w("|" + "---|" * 7)
    for vid, label, base, rid, _ in VARIANTS:
        r = need(f"pg-{vid}", label)
        results[f"pg-{vid}"] = r
        if r is None:
            w(f"| {label} | — | — | — | missing | — | — |")
            continue
        b = results.get(f"pg-{base}")
        rr = ref.get(rid) if limit else None
        vs = f"{r['rps'] / b['rps'] - 1:+.1%}" if b and b["rps"] else "—"
        ratio = f"{r['rps'] / rr['rps']:.2f}" if rr and rr["rps"] else "—"
        w(f"| {label} | {fmt_rps(r['rps'])} | {fmt_ms(r['p50'])} | {fmt_ms(r['p99'])} | "
          f"{r['errors']} | {vs} | {ratio} |")
    w("")
    w("ratio: the service's req/s over the matching reference route's, same run "
      "(profile, /me → GET /users/{id}; goals, badges, stats → GET /users/{id}/goals; "
      "POST goal, POST check-in → POST /users/{id}/goals for one user, as the service's "
      "writes are one token's user); ref p99 x: p99 over the reference's p99 (reads). "
      "CPU µs/req: CPU time over the measured run per answered request, of the server "
      "process, of all PostgreSQL processes, and of everything else on the machine (oha, "
      "and any other load: a high figure there means the run was disturbed).")
    w("")

    # Events.
    events_ratios = {}
    if meta.get("events") == "1":
        w("Publishing events (PostgreSQL; RabbitMQ, an exchange with no queue bound; each run on "
          f"a service started alone; {meta.get('events_settings', '?')})")
        w("")
        w("| scenario | off req/s | on req/s | on / off | p99 ms off, on | CPU µs/req server, off → on | "
          "PostgreSQL, off → on | oha + rest (RabbitMQ), off → on | events per request | "
          "waiting at the end | all out after | notes |")
        w("|" + "---|" * 12)
        for eid, label, offs, ons in EVENTS:
            off = merge([need(f"pg-events-{eid}-{r}", f"{label}, events off ({r})") for r in offs])
            on = merge([need(f"pg-events-{eid}-{r}", f"{label}, events on ({r})") for r in ons])
            results[f"pg-events-{eid}-off"], results[f"pg-events-{eid}-on"] = off, on
            if not off or not on or not off["rps"]:
                w(f"| {label} | — | — | — | — | — | — | — | — | — | — | missing |")
                continue
            ratio = on["rps"] / off["rps"]
            events_ratios[eid] = ratio
            cpu_off = mean_cpu_cols(run_dir, [f"pg-events-{eid}-{r}" for r in offs])
            cpu_on = mean_cpu_cols(run_dir, [f"pg-events-{eid}-{r}" for r in ons])
            cpu = [f"{a} → {b}" for a, b in zip(cpu_off, cpu_on)]
            written = waiting = answered = 0
            drained = []
            for r in ons:
                ev = load(os.path.join(run_dir, f"pg-events-{eid}-{r}.events.json"))
                if ev is None:
                    problems.append(f"{label}, events on ({r}): no record of its events")
                    continue
                written += ev["written"]
                waiting = max(waiting, ev["pending_at_end"])
                answered += figures(run_dir, f"pg-events-{eid}-{r}")["requests"]
                if ev["drained_ms"] is None:
                    problems.append(f"{label}, events on ({r}): events still waiting 60 s after "
                                    "the run (the next run would publish them)")
                else:
                    drained.append(ev["drained_ms"])
                if ev["written"] == 0:
                    problems.append(f"{label}, events on ({r}): no event written")
            per = f"{written / answered:.2f}" if answered else "—"
            after = f"{max(drained) / 1000:.1f} s" if len(drained) == len(ons) else "not all"
            notes = []
            if eid == "checkin":
                notes.append(f"201/200 off {off['statuses'].get('201', 0):,}/{off['statuses'].get('200', 0):,}, "
                             f"on {on['statuses'].get('201', 0):,}/{on['statuses'].get('200', 0):,}")
            if len(ons) > 1:
                notes.append("means of " + ", ".join(offs + ons))
            w(f"| {label} | {fmt_rps(off['rps'])} | {fmt_rps(on['rps'])} | {ratio:.2f} | "
              f"{fmt_ms(off['p99'])}, {fmt_ms(on['p99'])} | {cpu[0]} | {cpu[1]} | {cpu[2]} | {per} | "
              f"{waiting:,} | {after} | {'; '.join(notes)} |")
        w("")
        w("on / off: req/s with EVENTS_URL set over req/s without (target ≥ "
          f"{EVENTS_FLOOR}). events per request: outbox rows the measured runs wrote per answered "
          "request. waiting at the end: the most events not yet confirmed by RabbitMQ when a "
          "measured run ended; all out after: how long the relay then took to publish them.")
        w("")
    else:
        w("Publishing events: not measured (no RabbitMQ answered at BENCH_EVENTS_URL)")
        w("")

    # Cost growth.
    w("Cost growth (same shape, A vs B; each run twice, A B B A, averaged)")
    w("")
    w("| check | backend | A req/s | A p50 ms | B req/s | B p50 ms | A vs B | limit | |")
    w("|" + "---|" * 9)
    growth = [
        ("history", "goals list: 20 goals × 1,000 check-ins (A) vs 20 goals, none (B)", 0.10),
        ("many", "first page ?limit=20: 10,000 goals (A) vs 20 goals (B)", 0.15),
        ("stats", "stats: 20 goals × 1,000 check-ins (A) vs none (B)", 0.10),
        ("heatmap", "heatmap: 2 goals × 5 years of check-ins (A) vs × 1 year (B)", 0.10),
        ("checkin", "POST check-in: goals with a year of history (A) vs none (B)", 0.10),
        ("followers", "profile: 100,000 followers (A) vs 10 (B)", 0.10),
        ("checkin-followers", "POST check-in on new goals: 100,000 followers (A) vs none (B)", 0.10),
        ("followlist", "first page of followers ?limit=10: 100,000 followers (A) vs 10 (B)", 0.10),
        ("feed-history", "home feed, first page: followed users with 5 years of history (A) vs 1 (B)", 0.10),
        ("feed-idle", "home feed, first page: followed users inactive for a year (A) vs active (B)", 0.10),
        ("feed-deep", "home feed: 50th page (A) vs first (B)", 0.10),
        ("feed-alone", "feed of a user who follows nobody (A) vs their /activity ?limit=30 (B)", 0.10),
    ]
    growth_results = {}
    for backend, bname in BACKENDS:
        for gid, label, limit_frac in growth:
            if gid == "checkin":
                a = results.get(f"{backend}-post-checkin")
                b = need(f"{backend}-cg-checkin-none", f"{bname} {label} (B)")
            elif gid == "checkin-followers":
                a = need(f"{backend}-cg-checkin-followers", f"{bname} {label} (A)")
                b = need(f"{backend}-cg-checkin-none", f"{bname} {label} (B)")
            else:
                a = merge([need(f"{backend}-cg-{gid}-a{i}", f"{bname} {label} (A)") for i in (1, 2)])
                b = merge([need(f"{backend}-cg-{gid}-b{i}", f"{bname} {label} (B)") for i in (1, 2)])
            if not a or not b or not b["rps"]:
                w(f"| {label} | {bname} | — | — | — | — | — | | missing |")
                continue
            diff = a["rps"] / b["rps"] - 1
            # Same shape, same cost: a distance either way misses. A much faster than B means
            # the two do not measure the same work (a cache, a plan, an empty answer).
            met = None if limit_frac is None else abs(diff) <= limit_frac
            growth_results[f"{backend}-{gid}"] = (diff, met)
            extra = ""
            if gid == "checkin":
                extra = (f"A 201/200: {a['statuses'].get('201', 0):,}/{a['statuses'].get('200', 0):,}; "
                         f"B 201/200: {b['statuses'].get('201', 0):,}/{b['statuses'].get('200', 0):,}")
            w(f"| {label} | {bname} | {fmt_rps(a['rps'])} | {fmt_ms(a['p50'])} | {fmt_rps(b['rps'])} | "
              f"{fmt_ms(b['p50'])} | {diff:+.1%} | "
              f"{'±' + format(limit_frac, '.0%') if limit_frac else 'info'} | "
              f"{'' if met is None else ('met' if met else 'MISSED')} {extra} |")
    w("")

    # Start-up and memory.
    w("Start-up and memory")
    w("")
    w("| backend | ready after start (seeded database) | ready after start (empty file, migrations run) | "
      "RSS after the full run | peak RSS |")
    w("|---|---|---|---|---|")
    for backend, bname in BACKENDS:
        w(f"| {bname} | {meta.get(f'ready_ms_{backend}', '—')} ms | "
          f"{meta.get(f'ready_ms_{backend}_fresh', '—') + ' ms' if meta.get(f'ready_ms_{backend}_fresh') else '—'} | "
          f"{meta.get(f'rss_mib_{backend}', '—')} MiB | {meta.get(f'hwm_mib_{backend}', '—')} MiB |")
    if meta.get("ready_ms_ref"):
        w(f"| reference (PostgreSQL, tables already seeded) | {meta.get('ready_ms_ref')} ms | | "
          f"{meta.get('rss_mib_ref', '—')} MiB | |")
    w("")

    for key in sorted(k for k in meta if k.startswith("probe_")):
        w(f"{key[6:]}: {meta[key]}")
        if not meta[key].endswith("ok"):
            problems.append(f"probe {key[6:]}: {meta[key]}")
    w("")

    # Targets.
    targets = []

    def target(text, ok, measured):
        targets.append((text, ok, measured))

    if limit:
        for sid, floor in RATIO_TARGETS.items():
            r = results.get(f"pg-{sid}")
            rid = next(s[2] for s in SCENARIOS if s[0] == sid)
            rr = ref.get(rid)
            if r and rr and rr["rps"]:
                ratio = r["rps"] / rr["rps"]
                target(f"PostgreSQL {sid} ≥ {floor} of reference", ratio >= floor, f"{ratio:.3f}")
        for sid, _, rid, is_read in SCENARIOS:
            if not is_read:
                continue
            r, rr = results.get(f"pg-{sid}"), ref.get(rid)
            if r and rr and rr["p99"]:
                x = r["p99"] / rr["p99"]
                target(f"PostgreSQL {sid} p99 ≤ 2 × reference p99", x <= 2,
                       f"{fmt_ms(r['p99'])} vs {fmt_ms(rr['p99'])} ms ({x:.2f}×)")
        for vid, label, _, rid, floor in VARIANTS:
            r, rr = results.get(f"pg-{vid}"), ref.get(rid)
            if floor is not None and r and rr and rr["rps"]:
                ratio = r["rps"] / rr["rps"]
                target(f"PostgreSQL {label} ≥ {floor} of reference", ratio >= floor, f"{ratio:.3f}")
    off = merge([results.get(f"pg-profile-metrics-off-{i}") for i in (1, 2)])
    on = merge([results.get(f"pg-profile-metrics-on-{i}") for i in (1, 2)])
    if off and on and off["rps"]:
        cost = on["rps"] / off["rps"] - 1
        target(f"PostgreSQL profile with metrics within {METRICS_COST:.0%} of without (A B B A)",
               cost >= -METRICS_COST, f"{cost:+.1%}")
    if limit:
        r, rr = results.get("sqlite-profile"), ref.get("ref-profile")
        if r and rr and rr["rps"]:
            target("SQLite profile ≥ PostgreSQL reference profile", r["rps"] >= rr["rps"],
                   f"{r['rps'] / rr['rps']:.3f}")
    for key, label in (("history", "goals list with 1,000 check-ins per goal within 10%, either way"),
                       ("many", "first page of 10,000 goals within 15% of 20, either way"),
                       ("stats", "stats with 1,000 check-ins per goal within 10% of none, either way"),
                       ("heatmap", "heatmap of five years of check-ins within 10% of one year, either way"),
                       ("checkin", "POST check-in on a year of history within 10% of a new goal, either way"),
                       ("followers", "profile of 100,000 followers within 10% of 10, either way"),
                       ("checkin-followers", "POST check-in by a user with 100,000 followers within 10% of one with none, either way"),
                       ("followlist", "first page of 100,000 followers within 10% of 10, either way")):
        for backend, bname in BACKENDS:
            g = growth_results.get(f"{backend}-{key}")
            if g:
                target(f"{bname}: {label}", g[1], f"{g[0]:+.1%}")
    locked = meta.get("sqlite_locked_lines")
    if locked is not None:
        target("SQLite: no \"database is locked\" under 64-connection writes",
               locked == "0" and not any(results.get(f"sqlite-{s}", {}) and results[f"sqlite-{s}"]["errors"]
                                         for s in ("post-goal", "post-checkin", "mix")),
               f"{locked} log lines, errors "
               + ", ".join(str((results.get(f"sqlite-{s}") or {}).get("errors", "—"))
                           for s in ("post-goal", "post-checkin", "mix")))
    for backend, bname in BACKENDS:
        rss = meta.get(f"rss_mib_{backend}")
        if rss:
            target(f"{bname}: RSS after the full run ≤ 64 MiB", float(rss) <= 64, f"{rss} MiB")
    for eid, label, _, _ in EVENTS:
        if eid in events_ratios:
            target(f"PostgreSQL {label} with events published ≥ {EVENTS_FLOOR} of it without",
                   events_ratios[eid] >= EVENTS_FLOOR, f"{events_ratios[eid]:.3f}")
    ready = meta.get("ready_ms_sqlite")
    if ready:
        target("SQLite: ready within 1 s of start", int(ready) <= 1000, f"{ready} ms")

    w("Targets (issues 5, 8, 11, 12, 13)" + (" — a --quick run is too short and too small to judge them" if quick else ""))
    w("")
    for text, ok, measured in targets:
        w(f"- [{'x' if ok else ' '}] {text}: {measured}{'' if ok else '  (missed)'}")
    w("")
    if problems:
        w("PROBLEMS (the run is not valid):")
        for p in problems:
            w(f"- {p}")
    else:
        w("All scenarios ran without errors.")

    text = "\n".join(out)
    print(text)
    with open(os.path.join(run_dir, "summary.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(run_dir, "summary.json"), "w") as f:
        json.dump({
            "meta": meta,
            "results": results,
            "reference": ref,
            "targets": [{"target": t, "met": ok, "measured": m} for t, ok, m in targets],
            "problems": problems,
        }, f, indent=1, default=str)
    return 1 if problems else 0


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "range-regex":
        try:
            print(range_regex(int(args[0]), int(args[1])))
        except ValueError as err:
            print(err, file=sys.stderr)
            return 2
        return 0
    if cmd == "rps":
        print(f"{rps_of(args[0]):.1f}")
        return 0
    if cmd == "mix-qps":
        # mix-qps WRITE_FILE READ_FILE...: the write rate that makes 10% of a mix whose
        # reads are drawn evenly from the read scenarios, if costs add up.
        w = rps_of(args[0])
        reads = [rps_of(a) for a in args[1:]]
        if not w or not all(reads):
            print("50")
            return 0
        per_request = 0.9 * sum(1 / r for r in reads) / len(reads) + 0.1 / w
        print(f"{max(1.0, 0.1 / per_request):.0f}")
        return 0
    if cmd == "line":
        # line RUN_DIR NAME: one progress line.
        r = figures(args[0], args[1])
        if r is None:
            print(f"  {args[1]}: no result")
            return 0
        extra = ""
        if "201" in r["statuses"] and "200" in r["statuses"]:
            extra = f"  (201: {r['statuses']['201']}, 200: {r['statuses']['200']})"
        if r.get("writes"):
            extra = f"  (writes {r['writes']['requests'] / max(1, r['requests']):.1%})"
        print(f"  {args[1]:<28} {r['rps']:>9,.0f} req/s  p50 {fmt_ms(r['p50']):>6} ms  "
              f"p99 {fmt_ms(r['p99']):>6} ms  errors {r['errors']}{extra}")
        return 0
    if cmd == "probe":
        return probe(args[0], args[1:])
    if cmd == "summary":
        return summary(args[0])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
