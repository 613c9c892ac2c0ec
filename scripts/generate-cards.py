#!/usr/bin/env python3
"""Generates card records of the shape of samples/cards.csv / cards.ndjson, reproducibly.

  scripts/generate-cards.py --rows 1000000 --seed 7 --format csv --out /tmp/cards.csv

Card numbers are generated Luhn-valid test numbers of several brands and lengths (none is a
real card); about 1 in 50 is written with spaces or dashes, 1 in 200 fails the Luhn check and
1 in 200 is empty. Names carry commas, quotes and non-ASCII letters; notes sometimes hold a line
break and sometimes a card number inside the text.

  --repeat 0.4: about 40% of the records repeat an earlier record's card (number, expiry and CVV
  alike, as a card store holds one card on many rows): each such record takes the card of one
  of the last 100,000 distinct cards, chosen at random (the same card repeats more than once).
  Without it the output is the same as before the option existed (the same seed, the same rows).
"""
import argparse, json, random

BRANDS = [("4", 16), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
          ("6011", 16), ("36", 14), ("35", 16)]
FIRST = ["Jane", "John", "Zoë", "José", "Ærøskøbing", "Mary-Ann", "O'Brien", "Łukasz", "Søren", "Anaïs", "李"]
LAST = ["Smith", "Doe, Jr.", "Müller", "García", "\"Ace\" Jones", "Nguyễn", "Ødegård", "Brontë", "Ng"]
NOTES = ["", "", "", "VIP customer", "called about renewal", "prefers email, not phone",
         "said \"keep the card on file\"", "address changed\nsee ticket", "paid in full"]


def luhn_digit(body):
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def pan(rng):
    prefix, length = rng.choice(BRANDS)
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn_digit(body)


def record(rng, i):
    number = pan(rng)
    roll = rng.random()
    if roll < 0.005:
        number = number[:-1] + str((int(number[-1]) + 1) % 10)  # fails Luhn
    elif roll < 0.01:
        number = ""
    elif roll < 0.03:
        sep = rng.choice([" ", "-"])
        number = sep.join(number[k:k + 4] for k in range(0, len(number), 4))
    note = rng.choice(NOTES)
    if rng.random() < 0.05:
        note = (note + " " if note else "") + "card " + pan(rng) + " given by phone"
    return {
        "id": f"C{i:08d}",
        "card_number": number,
        "card_exp": f"{rng.randint(1, 12):02d}{rng.randint(26, 33)}",
        "card_cvv": "".join(rng.choice("0123456789") for _ in range(4 if number.startswith(("34", "37")) else 3)),
        "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "notes": note,
    }


def csv_field(value):
    if any(c in value for c in ",\"\r\n"):
        return '"' + value.replace('"', '""') + '"'
    return value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=["csv", "ndjson"], default="csv")
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeat", type=float, default=0.0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    repeats = random.Random(args.seed + 1_000_003)  # its own stream: without --repeat nothing changes
    cards = []  # the last distinct cards, for --repeat
    with open(args.out, "w", encoding="utf-8", newline="") as out:
        columns = ["id", "card_number", "card_exp", "card_cvv", "name", "notes"]
        if args.format == "csv":
            out.write(",".join(columns) + "\n")
        for i in range(args.rows):
            r = record(rng, i)
            if args.repeat > 0:
                if cards and repeats.random() < args.repeat:
                    r["card_number"], r["card_exp"], r["card_cvv"] = repeats.choice(cards)
                else:
                    card = (r["card_number"], r["card_exp"], r["card_cvv"])
                    if len(cards) < 100_000:
                        cards.append(card)
                    else:
                        cards[repeats.randrange(len(cards))] = card
            if args.format == "csv":
                out.write(",".join(csv_field(r[c]) for c in columns) + "\n")
            else:
                nested = {"id": r["id"], "card": {"number": r["card_number"], "exp": r["card_exp"], "cvv": r["card_cvv"]},
                          "holder": {"name": r["name"]}, "notes": r["notes"]}
                out.write(json.dumps(nested, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
