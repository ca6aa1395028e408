"""Write a SYNTHETIC sample of police.uk street-level crime data, in exactly its format.

    python training/make_crime_sample.py --rows 20000 --start 2024-01 --months 3 \\
        --seed 1 --out data/crime            # folders YYYY-MM/YYYY-MM-<force>-street.csv
    python training/make_crime_sample.py --rows 20000 --out crime-sample.zip   # the same, zipped

The real archives (data.police.uk) hold one folder per month with one `-street.csv` file per
force and the columns `Crime ID, Month, Reported by, Falls within, Longitude, Latitude,
Location, LSOA code, LSOA name, Crime type, Last outcome category, Context`. This script writes
the same layout and columns with invented rows, so tests and the demo need no download. The
rows are not real crimes: they are drawn from a seeded model in which the chance that a crime is
resolved depends on its type, the force, the area and how recent it is, so a classifier has
something real to learn. Anti-social behaviour rows have no Crime ID and no outcome, as in
the real files. The same arguments always write the same bytes.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from modelkit import positive_int

COLUMNS = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]

# (force name, file slug, latitude, longitude, spread in degrees, towns, resolution effect)
FORCES = [
    (
        "Metropolitan Police Service",
        "metropolitan",
        51.507,
        -0.128,
        0.12,
        ["Westminster", "Camden", "Hackney", "Lambeth", "Croydon", "Barnet"],
        -0.25,
    ),
    (
        "Avon and Somerset Constabulary",
        "avon-and-somerset",
        51.45,
        -2.59,
        0.25,
        ["Bristol", "Bath and North East Somerset", "North Somerset", "Somerset"],
        0.05,
    ),
    (
        "Greater Manchester Police",
        "greater-manchester",
        53.48,
        -2.24,
        0.15,
        ["Manchester", "Salford", "Bolton", "Stockport", "Wigan"],
        -0.10,
    ),
    (
        "West Midlands Police",
        "west-midlands",
        52.48,
        -1.90,
        0.15,
        ["Birmingham", "Coventry", "Wolverhampton", "Dudley", "Walsall"],
        0.0,
    ),
    (
        "West Yorkshire Police",
        "west-yorkshire",
        53.80,
        -1.55,
        0.15,
        ["Leeds", "Bradford", "Wakefield", "Kirklees", "Calderdale"],
        0.10,
    ),
    (
        "Thames Valley Police",
        "thames-valley",
        51.60,
        -1.10,
        0.30,
        ["Oxford", "Reading", "Milton Keynes", "Slough", "Aylesbury Vale"],
        0.0,
    ),
    (
        "Kent Police",
        "kent",
        51.27,
        0.52,
        0.25,
        ["Maidstone", "Canterbury", "Medway", "Dartford", "Thanet"],
        0.15,
    ),
    (
        "Merseyside Police",
        "merseyside",
        53.41,
        -2.98,
        0.10,
        ["Liverpool", "Wirral", "Sefton", "Knowsley", "St. Helens"],
        0.20,
    ),
    (
        "Northumbria Police",
        "northumbria",
        54.97,
        -1.61,
        0.15,
        ["Newcastle upon Tyne", "Sunderland", "Gateshead", "North Tyneside"],
        0.05,
    ),
    (
        "Devon & Cornwall Police",
        "devon-and-cornwall",
        50.50,
        -4.20,
        0.40,
        ["Plymouth", "Exeter", "Cornwall", "Torbay", "Teignbridge"],
        0.25,
    ),
    ("Durham Constabulary", "durham", 54.70, -1.60, 0.15, ["County Durham", "Darlington"], 0.35),
    ("City of London Police", "city-of-london", 51.515, -0.092, 0.01, ["City of London"], 0.40),
]
FORCE_WEIGHTS = np.array([30, 8, 12, 11, 9, 9, 7, 6, 5, 6, 3, 1], dtype=float)

# (crime type, share of rows, resolution log-odds); None: no outcome (anti-social behaviour).
CRIME_TYPES = [
    ("Anti-social behaviour", 18.0, None),
    ("Violence and sexual offences", 30.0, -1.6),
    ("Public order", 8.0, -1.4),
    ("Criminal damage and arson", 8.0, -2.4),
    ("Shoplifting", 7.0, -0.4),
    ("Other theft", 7.0, -2.8),
    ("Vehicle crime", 6.0, -3.2),
    ("Burglary", 4.5, -2.9),
    ("Drugs", 2.5, 1.3),
    ("Other crime", 1.5, -0.8),
    ("Theft from the person", 1.5, -3.4),
    ("Bicycle theft", 1.5, -3.5),
    ("Robbery", 1.0, -2.0),
    ("Possession of weapons", 1.0, 0.9),
]

RESOLVED = [
    ("Awaiting court outcome", 3.0),
    ("Court result unavailable", 2.0),
    ("Local resolution", 3.0),
    ("Offender given a caution", 2.0),
    ("Offender given a drugs possession warning", 1.0),
    ("Offender given penalty notice", 0.5),
    ("Suspect charged as part of another case", 0.5),
    ("Action to be taken by another organisation", 1.0),
]
UNRESOLVED = [
    ("Investigation complete; no suspect identified", 10.0),
    ("Unable to prosecute suspect", 8.0),
    ("Status update unavailable", 1.5),
    ("Further investigation is not in the public interest", 1.0),
    ("Formal action is not in the public interest", 0.5),
]
UNDER_INVESTIGATION = "Under investigation"

PLACES = [
    "High Street",
    "Station Road",
    "Church Street",
    "Park Road",
    "Victoria Road",
    "London Road",
    "Mill Lane",
    "Queen Street",
    "King Street",
    "Green Lane",
    "Supermarket",
    "Parking Area",
    "Petrol Station",
    "Shopping Area",
    "Nightclub",
    "Sports/Recreation Area",
    "Hospital",
    "Further/Higher Educational Building",
    "Theatre/Concert Hall",
    "Pedestrian Subway",
    "Bus/Coach Station",
    "Police Station",
]


def month_list(start: str, count: int) -> list[str]:
    try:
        first = pd.Period(start, freq="M")
    except ValueError:
        raise argparse.ArgumentTypeError(f"--start must be YYYY-MM, got {start!r}") from None
    return [str(first + offset) for offset in range(count)]


def generate(rows: int, months: list[str], seed: int) -> pd.DataFrame:
    """`rows` synthetic street-level records spread over `months`, all forces."""
    rng = np.random.default_rng(seed)
    force_index = rng.choice(len(FORCES), size=rows, p=FORCE_WEIGHTS / FORCE_WEIGHTS.sum())
    type_shares = np.array([share for _, share, _ in CRIME_TYPES])
    type_index = rng.choice(len(CRIME_TYPES), size=rows, p=type_shares / type_shares.sum())
    month_index = rng.integers(0, len(months), size=rows)

    centre_lat = np.array([f[2] for f in FORCES])[force_index]
    centre_lon = np.array([f[3] for f in FORCES])[force_index]
    spread = np.array([f[4] for f in FORCES])[force_index]
    offset_lat = rng.normal(0.0, 1.0, rows) * spread
    offset_lon = rng.normal(0.0, 1.0, rows) * spread * 1.6
    latitude = np.round(centre_lat + offset_lat, 6)
    longitude = np.round(centre_lon + offset_lon, 6)
    distance = np.sqrt((offset_lat / spread) ** 2 + (offset_lon / (1.6 * spread)) ** 2)

    towns = [FORCES[i][5] for i in range(len(FORCES))]
    town_pick = rng.integers(0, 1_000_000, rows)
    lsoa_town = np.array(
        [towns[f][t % len(towns[f])] for f, t in zip(force_index, town_pick, strict=True)],
        dtype=object,
    )
    lsoa_number = rng.integers(1, 400, rows)
    lsoa_letter = rng.choice(np.array(list("ABCDEF")), rows)
    lsoa_name = np.char.add(
        np.char.add(lsoa_town.astype(str), " "),
        np.char.add(np.char.zfill(lsoa_number.astype(str), 3), lsoa_letter),
    ).astype(object)
    lsoa_code = np.char.add(
        "E0", np.char.zfill(rng.integers(1000000, 1035000, rows).astype(str), 7)
    )
    place = rng.choice(np.array(PLACES, dtype=object), rows)
    location = np.char.add("On or near ", place.astype(str)).astype(object)

    no_location = rng.random(rows) < 0.015
    latitude_col = np.where(no_location, np.nan, latitude)
    longitude_col = np.where(no_location, np.nan, longitude)
    location[no_location] = "No Location"
    lsoa_name[no_location] = ""
    lsoa_code = lsoa_code.astype(object)
    lsoa_code[no_location] = ""

    base = np.array([np.nan if lo is None else lo for _, _, lo in CRIME_TYPES])[type_index]
    force_effect = np.array([f[6] for f in FORCES])[force_index]
    recency = month_index / max(len(months) - 1, 1)
    month_of_year = np.array([int(m[5:7]) for m in months])[month_index]
    seasonal = 0.15 * np.cos(2 * np.pi * (month_of_year - 1) / 12)
    log_odds = base + force_effect + 0.35 * (1.0 - np.minimum(distance, 2.0)) + seasonal
    resolved = rng.random(rows) < 1.0 / (1.0 + np.exp(-log_odds))

    def pick(options, count):
        names = np.array([name for name, _ in options], dtype=object)
        weights = np.array([weight for _, weight in options])
        return rng.choice(names, size=count, p=weights / weights.sum())

    outcome = np.where(resolved, pick(RESOLVED, rows), pick(UNRESOLVED, rows)).astype(object)
    pending = ~resolved & (rng.random(rows) < 0.15 + 0.6 * recency**3)
    outcome[pending] = UNDER_INVESTIGATION
    anti_social = np.isnan(base)
    outcome[anti_social] = ""

    crime_id = np.array(
        [bytes(row).hex() for row in rng.integers(0, 256, (rows, 32), dtype=np.uint8)],
        dtype=object,
    )
    crime_id[anti_social] = ""
    force_names = np.array([f[0] for f in FORCES], dtype=object)[force_index]
    frame = pd.DataFrame(
        {
            "Crime ID": crime_id,
            "Month": np.array(months, dtype=object)[month_index],
            "Reported by": force_names,
            "Falls within": force_names,
            "Longitude": longitude_col,
            "Latitude": latitude_col,
            "Location": location,
            "LSOA code": lsoa_code,
            "LSOA name": lsoa_name,
            "Crime type": np.array([t for t, _, _ in CRIME_TYPES], dtype=object)[type_index],
            "Last outcome category": outcome,
            "Context": "",
        },
        columns=COLUMNS,
    )
    frame["_slug"] = np.array([f[1] for f in FORCES], dtype=object)[force_index]
    return frame


def files(frame: pd.DataFrame):
    """(archive path, CSV text) per month and force, in a stable order."""
    for (month, slug), part in frame.groupby(["Month", "_slug"], sort=True):
        text = part[COLUMNS].to_csv(index=False, float_format="%.6f", lineterminator="\n")
        yield f"{month}/{month}-{slug}-street.csv", text


def write(frame: pd.DataFrame, out: Path) -> int:
    """Write folders under `out`, or one zip when `out` ends in .zip. Returns the file count."""
    count = 0
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, text in files(frame):
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, text)
                count += 1
        return count
    for name, text in files(frame):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        count += 1
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=positive_int, default=20_000, help="rows (default 20000)")
    parser.add_argument("--start", default="2024-01", help="first month, YYYY-MM (default 2024-01)")
    parser.add_argument("--months", type=positive_int, default=3, help="months (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--out", required=True, help="output folder, or a file ending in .zip")
    args = parser.parse_args(argv)
    try:
        months = month_list(args.start, args.months)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    frame = generate(args.rows, months, args.seed)
    count = write(frame, Path(args.out))
    print(f"wrote {args.rows} synthetic rows in {count} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
