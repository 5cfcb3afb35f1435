"""`make bench`: every benchmark in bench/, each writing its raw JSON under bench/out/."""

from bench import ingest_rate

if __name__ == "__main__":
    ingest_rate.main()
