"""The event tables as an analyst queries them: SEDE-style SQL gives the model's own metrics, every
reference resolves, NULL stands where the dump has NULL, and ``preflight sql`` prints, writes and
fails as documented (docs/data.md).

One small run with tables is shared by the whole module.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from preflight.cli import main
from preflight.compose import compose
from preflight.run import simulate, write_run
from preflight.sql import open_run, run_query, shell, shipped_queries
from preflight.tables import connect
from sim.store import NONE, PostType

ROOT = Path(__file__).resolve().parents[1]
WARMUP_DAYS = 7


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """``(run folder, metrics)`` of one small run with its event tables; moderators err more often
    than by default and every wrongly sanctioned member appeals, so the appeal tables have rows."""
    _, settings = compose(["site=small", "run.days=30", f"run.warmup_days={WARMUP_DAYS}", "run.event_tables=true",
                           "run.progress=false", "run.start_date=2019-03-01", "seed=4",
                           "population.appeal_prob=1.0", "moderation.moderators.error_rate=0.3",
                           "moderation.moderators.wrongful_suspension_prob=1.0"])
    result = simulate(settings)
    out = write_run(result, tmp_path_factory.mktemp("events") / "run")
    return out, result.metrics


@pytest.fixture(scope="module")
def con(run):
    return connect(run[0] / "tables")


def one(con, query: str):
    return con.execute(query).fetchall()[0][0]


#: The questions the community metrics count: posted after the warm-up, not harmful (ground truth).
QUESTIONS = f"""
  SELECT p.* FROM PostsWithDeleted AS p JOIN GroundTruth AS g ON g.PostId = p.Id
  WHERE p.PostTypeId = 1 AND g.HarmTypeId = 0
    AND p.CreationDate >= TIMESTAMP '2019-03-01' + INTERVAL {WARMUP_DAYS} DAY"""


def test_sede_queries_give_the_models_community_metrics(con, run):
    metrics = run[1]
    answered, accepted, closed, tfa = con.execute(f"""
      WITH q AS ({QUESTIONS}),
      first_answer AS (SELECT ParentId, min(CreationDate) AS At FROM PostsWithDeleted
                       WHERE PostTypeId = 2 GROUP BY ParentId),
      closed AS (SELECT DISTINCT PostId FROM PostHistory WHERE PostHistoryTypeId = 10)
      SELECT avg((a.At IS NOT NULL)::INT), avg((q.AcceptedAnswerId IS NOT NULL)::INT),
             avg((c.PostId IS NOT NULL)::INT),
             quantile_cont(date_diff('minute', coalesce(q.PublishedDate, q.CreationDate), a.At), 0.5)
      FROM q LEFT JOIN first_answer AS a ON a.ParentId = q.Id LEFT JOIN closed AS c ON c.PostId = q.Id""").fetchall()[0]
    assert metrics["closure_rate"] > 0 and metrics["accepted_share"] > 0
    assert answered == pytest.approx(metrics["answered_share"], rel=1e-12)
    assert accepted == pytest.approx(metrics["accepted_share"], rel=1e-12)
    assert closed == pytest.approx(metrics["closure_rate"], rel=1e-12)
    assert tfa == pytest.approx(metrics["time_to_first_answer_p50_min"], rel=1e-12)


def test_closures_by_reason_from_post_history_match_the_model(con, run):
    by_reason = dict(con.execute(f"""
      SELECT r.Name, count(*) FROM PostHistory AS h JOIN CloseReasonTypes AS r ON r.Id = CAST(h.Comment AS INT)
      WHERE h.PostHistoryTypeId = 10 AND h.CreationDate >= TIMESTAMP '2019-03-01' + INTERVAL {WARMUP_DAYS} DAY
      GROUP BY 1""").fetchall())
    assert by_reason["Duplicate"] / sum(by_reason.values()) == pytest.approx(run[1]["duplicate_share_of_closures"])
    assert one(con, "SELECT count(*) FROM PostHistory WHERE PostHistoryTypeId = 10 AND Comment IS NULL") == 0


#: (table, column, referenced table): every value must be an Id of the referenced table.
REFERENCES = [
    ("PostsWithDeleted", "ParentId", "PostsWithDeleted"), ("PostsWithDeleted", "AcceptedAnswerId", "PostsWithDeleted"),
    ("PostsWithDeleted", "OwnerUserId", "Users"), ("Votes", "PostId", "PostsWithDeleted"), ("Votes", "UserId", "Users"),
    ("CommentsWithDeleted", "PostId", "PostsWithDeleted"), ("CommentsWithDeleted", "UserId", "Users"),
    ("PostHistory", "PostId", "PostsWithDeleted"), ("PostHistory", "UserId", "Users"),
    ("PostTags", "PostId", "PostsWithDeleted"), ("PostTags", "TagId", "Tags"),
    ("Flags", "PostId", "PostsWithDeleted"), ("Flags", "CommentId", "CommentsWithDeleted"), ("Flags", "UserId", "Users"),
    ("Flags", "TargetUserId", "Users"), ("ModeratorActions", "UserId", "Users"),
    ("ModeratorActions", "PostId", "PostsWithDeleted"), ("ModeratorActions", "CauseFlagId", "Flags"),
    ("ModeratorActions", "CauseDetectionId", "Detections"), ("Suspensions", "ModeratorActionId", "ModeratorActions"),
    ("Detections", "PostId", "PostsWithDeleted"), ("Detections", "UserId", "Users"),
    ("GroundTruth", "PostId", "PostsWithDeleted"), ("GroundTruth", "CommentId", "CommentsWithDeleted"),
    ("GroundTruth", "UserId", "Users"),
    ("PostsWithDeleted", "PostTypeId", "PostTypes"), ("Votes", "VoteTypeId", "VoteTypes"),
    ("PostHistory", "PostHistoryTypeId", "PostHistoryTypes"), ("PostHistory", "RemovalCauseId", "RemovalCauses"),
    ("Flags", "FlagTypeId", "FlagTypes"), ("Flags", "FlagStatusId", "FlagStatuses"), ("Flags", "SourceId", "Sources"),
    ("ModeratorActions", "ActionTypeId", "ModeratorActionTypes"), ("GroundTruth", "HarmTypeId", "HarmTypes"),
    ("GroundTruth", "UserKindId", "UserKinds"), ("GroundTruth", "ToneTypeId", "ToneTypes"),
    ("Escalations", "UserId", "Users"), ("Escalations", "CauseFlagId", "Flags"),
    ("Escalations", "CauseDetectionId", "Detections"), ("Escalations", "StaffCaseTypeId", "StaffCaseTypes"),
    ("Appeals", "ModeratorActionId", "ModeratorActions"), ("Appeals", "UserId", "Users"),
    ("PostLinks", "PostId", "PostsWithDeleted"), ("PostLinks", "RelatedPostId", "PostsWithDeleted"),
    ("PostLinks", "LinkTypeId", "LinkTypes"), ("SuggestedEdits", "PostId", "PostsWithDeleted"),
    ("SuggestedEdits", "OwnerUserId", "Users"), ("ReviewTasks", "SuggestedEditId", "SuggestedEdits"),
    ("ReviewTasks", "PostId", "PostsWithDeleted"), ("ReviewTasks", "ReviewTaskTypeId", "ReviewTaskTypes"),
    ("ReviewTasks", "ReviewTaskStateId", "ReviewTaskStates"), ("ReviewTaskResults", "ReviewTaskId", "ReviewTasks"),
    ("ReviewTaskResults", "ReviewTaskResultTypeId", "ReviewTaskResultTypes"), ("ReviewTaskResults", "UserId", "Users"),
    ("PostEdits", "PostId", "PostsWithDeleted"), ("PostEdits", "EditKindId", "EditKinds"),
    ("PostEdits", "EditStateId", "EditStates"),
]


@pytest.mark.parametrize(("table", "column", "target"), REFERENCES)
def test_every_reference_resolves(con, table, column, target):
    missing = one(con, f"SELECT count(*) FROM {table} AS t WHERE t.{column} IS NOT NULL "
                       f"AND NOT EXISTS (SELECT 1 FROM {target} AS r WHERE r.Id = t.{column})")
    assert missing == 0
    if table in ("PostsWithDeleted", "Votes", "CommentsWithDeleted", "PostHistory", "GroundTruth", "PostLinks",
                 "ReviewTasks", "ReviewTaskResults", "SuggestedEdits"):
        assert one(con, f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL") > 0  # (not vacuous)


def test_every_deletion_has_exactly_one_cause(con):
    assert one(con, "SELECT count(*) FROM PostHistory WHERE PostHistoryTypeId = 13") > 0  # (undeletions too)
    assert one(con, "SELECT count(*) FROM PostHistory WHERE PostHistoryTypeId = 12 AND RemovalCauseId IS NULL") == 0
    assert one(con, "SELECT count(*) FROM PostHistory WHERE PostHistoryTypeId <> 12 AND RemovalCauseId IS NOT NULL") == 0
    # each deleted post: one last deletion, at its DeletionDate, with the post's cause
    wrong = one(con, """
      WITH last AS (SELECT PostId, max(CreationDate) FILTER (WHERE PostHistoryTypeId = 12) AS At,
                           arg_max(RemovalCauseId, CreationDate) FILTER (WHERE PostHistoryTypeId = 12) AS Cause,
                           count(*) FILTER (WHERE PostHistoryTypeId = 12) - count(*) FILTER (WHERE PostHistoryTypeId = 13) AS Open
                    FROM PostHistory WHERE PostHistoryTypeId IN (12, 13) GROUP BY PostId),
      deleted AS (SELECT * FROM last WHERE Open = 1)
      SELECT count(*) FROM PostsWithDeleted AS p FULL JOIN deleted AS l ON l.PostId = p.Id
      WHERE (p.DeletionDate IS NOT NULL) <> (l.PostId IS NOT NULL)
         OR (p.DeletionDate IS NOT NULL AND (l.At <> p.DeletionDate OR l.Cause <> p.RemovalCauseId))""")
    assert wrong == 0
    assert one(con, "SELECT count(*) FROM CommentsWithDeleted WHERE (DeletionDate IS NULL) <> (RemovalCauseId IS NULL)") == 0


def test_nulls_where_the_dump_has_nulls_and_ids_from_one(con, run):
    for name in ("Users", "PostsWithDeleted", "Votes", "CommentsWithDeleted", "PostHistory", "Flags",
                 "ModeratorActions", "Detections"):
        n, lo, hi = con.execute(f"SELECT count(*), min(Id), max(Id) FROM {name}").fetchall()[0]
        assert (lo, hi) == (1, n), name
        for column, kind in con.execute(f"SELECT column_name, data_type FROM information_schema.columns "
                                    f"WHERE table_name = '{name}'").fetchall():
            if kind in ("BIGINT", "INTEGER", "SMALLINT"):
                assert one(con, f"SELECT count(*) FROM {name} WHERE {column} < 0") == 0 or column == "Score", (name, column)
    assert one(con, "SELECT count(*) FROM PostsWithDeleted WHERE PostTypeId = 1 AND (ParentId IS NOT NULL "
                    "OR AnswerCount IS NULL OR ViewCount IS NULL OR Tags IS NULL)") == 0
    assert one(con, "SELECT count(*) FROM PostsWithDeleted WHERE PostTypeId = 2 AND (ParentId IS NULL OR "
                    "AcceptedAnswerId IS NOT NULL OR AnswerCount IS NOT NULL OR ViewCount IS NOT NULL "
                    "OR ClosedDate IS NOT NULL)") == 0
    assert 0 < one(con, "SELECT count(*) FROM PostsWithDeleted WHERE AcceptedAnswerId IS NOT NULL") < \
        one(con, "SELECT count(*) FROM PostsWithDeleted WHERE PostTypeId = 1")
    schema = pq.read_schema(run[0] / "tables" / "PostsWithDeleted.parquet")
    assert str(schema.field("ViewCount").type) == "int64"
    assert str(schema.field("CreationDate").type) == "timestamp[us]"
    assert str(one(con, "SELECT min(CreationDate) FROM PostsWithDeleted"))[:10] == "2019-03-01"


def test_spam_queries_give_the_models_spam_metrics(con, run):
    days = 30 - WARMUP_DAYS
    window = f"TIMESTAMP '2019-03-01' + INTERVAL {WARMUP_DAYS} DAY"
    spam = one(con, f"""SELECT count(*) FROM PostsWithDeleted AS p JOIN GroundTruth AS g ON g.PostId = p.Id
                        JOIN HarmTypes AS h ON h.Id = g.HarmTypeId WHERE h.Name = 'Spam' AND p.CreationDate >= {window}""")
    assert spam > 0 and spam / days == pytest.approx(run[1]["spam_posts_per_day"])
    # spam exposure: the views spam posts drew while visible (answers too, which have no ViewCount):
    # over the whole run, exactly the daily series; in the window, between the views of the spam
    # posted in it and those of all spam (spam posted in the warm-up and still up is seen in it too)
    all_spam, posted_in_window = (
        one(con, f"""SELECT sum(g.Views) FROM GroundTruth AS g JOIN PostsWithDeleted AS p ON p.Id = g.PostId
                     JOIN HarmTypes AS h ON h.Id = g.HarmTypeId WHERE h.Name = 'Spam' AND {when}""")
        for when in ("TRUE", f"p.CreationDate >= {window}"))
    daily = pq.read_table(run[0] / "timeseries.parquet").column("harm_exposure_spam").to_numpy()
    assert all_spam > 0 and all_spam == pytest.approx(daily.sum(), rel=1e-5)
    assert posted_in_window <= run[1]["harm_exposure_spam"] <= all_spam * (1 + 1e-6)
    precision = one(con, f"""SELECT avg(IsTargetBad::INT) FROM Detections AS d JOIN Sources AS s ON s.Id = d.SourceId
                            WHERE s.Name = 'Spam detector' AND d.CreationDate >= {window}""")
    assert precision == pytest.approx(run[1]["spam_autoflag_precision"])
    # the shipped query: every spam post counted on its day, deleted ones with their time
    by_day = run_query(con, shipped_queries()["median_time_to_spam_deletion"].read_text()).to_pydict()
    assert sum(by_day["SpamPosts"]) == one(con, "SELECT count(*) FROM GroundTruth WHERE HarmTypeId = "
                                                "(SELECT Id FROM HarmTypes WHERE Name = 'Spam') AND PostId IS NOT NULL")
    assert all((m is None) == (k == 0) for m, k in zip(by_day["MedianMinutesToDeletion"], by_day["SpamPostsDeleted"]))


def test_edits_are_post_history_and_suggested_edits_as_in_the_dump(con):
    applied = one(con, "SELECT count(*) FROM PostEdits AS e JOIN EditStates AS s ON s.Id = e.EditStateId "
                       "WHERE s.Name IN ('Applied', 'Rolled back')")
    assert applied > 0
    assert one(con, "SELECT count(*) FROM PostHistory WHERE PostHistoryTypeId = 5") == applied
    assert one(con, "SELECT count(*) FROM PostHistory WHERE PostHistoryTypeId = 8") == \
        one(con, "SELECT count(*) FROM PostEdits WHERE RolledBackDate IS NOT NULL")
    # a suggested edit is approved or rejected at most once, and only the approved ones are revisions
    assert one(con, "SELECT count(*) FROM SuggestedEdits WHERE ApprovalDate IS NOT NULL AND RejectionDate IS NOT NULL") == 0
    assert one(con, "SELECT count(*) FROM SuggestedEdits WHERE ApprovalDate IS NOT NULL") == \
        one(con, "SELECT count(*) FROM PostHistory WHERE PostHistoryTypeId = 24") > 0
    assert one(con, "SELECT count(*) FROM SuggestedEdits WHERE RejectionDate IS NOT NULL") > 0
    # every suggested-edit review names its suggested edit, and the queue's name joins SEDE's type name
    assert one(con, "SELECT count(*) FROM ReviewTasks AS t JOIN ReviewTaskTypes AS y ON y.Id = t.ReviewTaskTypeId "
                    "WHERE y.Name = 'Suggested Edit' AND t.SuggestedEditId IS NULL AND NOT t.IsAudit") == 0


def test_duplicate_links_point_to_an_earlier_question_on_the_same_topic(con):
    links = one(con, "SELECT count(*) FROM PostLinks WHERE LinkTypeId = 3")
    closed_dups = one(con, """SELECT count(*) FROM PostHistory AS h JOIN PostsWithDeleted AS p ON p.Id = h.PostId
                             WHERE h.PostHistoryTypeId = 10 AND h.Comment = '101' AND p.ClosedDate IS NOT NULL""")
    assert 0 < links <= closed_dups and links >= 0.9 * closed_dups  # (none only where a topic had no earlier one)
    wrong = one(con, """
      SELECT count(*) FROM PostLinks AS l JOIN PostsWithDeleted AS d ON d.Id = l.PostId
      JOIN PostsWithDeleted AS t ON t.Id = l.RelatedPostId
      WHERE t.CreationDate > d.CreationDate OR t.Id >= d.Id OR t.Tags <> d.Tags OR t.PostTypeId <> 1
         OR l.CreationDate <> d.ClosedDate""")
    assert wrong == 0


class _Posts:
    """Questions on two alternating topics (even ids topic 0, odd ids topic 1), with given views."""

    def __init__(self, views):
        self.n = len(views)
        self._frame = {"kind": np.full(self.n, PostType.QUESTION, np.int8), "topic": np.arange(self.n) % 2,
                       "views": np.asarray(views, np.float32)}

    def frame(self):
        return self._frame


def test_a_duplicates_target_is_drawn_in_proportion_to_views_among_earlier_questions_of_its_topic():
    from types import SimpleNamespace

    from preflight.dump_tables import duplicate_targets

    n = 4000
    views = np.ones(n)
    views[0] = 1e6  # one canonical question on topic 0
    site = SimpleNamespace(posts=_Posts(views), settings=SimpleNamespace(seed=3))
    later = np.arange(2000, n)
    target = duplicate_targets(site, later)
    assert np.all(target < later) and np.all(target % 2 == later % 2)
    assert np.mean(target[later % 2 == 0] == 0) > 0.99
    assert not np.any(target[later % 2 == 1] == 0)
    # equal views: every earlier question of the topic alike (mean position half-way)
    site = SimpleNamespace(posts=_Posts(np.zeros(n)), settings=SimpleNamespace(seed=3))
    target = duplicate_targets(site, later)
    assert np.mean(target / later) == pytest.approx(0.5, abs=0.03)
    # the first question of a topic has nothing to duplicate; the draw is the run's, every time
    assert list(duplicate_targets(site, np.array([0, 1]))) == [NONE, NONE]
    np.testing.assert_array_equal(duplicate_targets(site, later), target)
    other = duplicate_targets(SimpleNamespace(posts=site.posts, settings=SimpleNamespace(seed=4)), later)
    assert np.mean(other != target) > 0.9


def test_answer_count_counts_only_answers_not_deleted(con):
    assert one(con, "SELECT count(*) FROM PostsWithDeleted WHERE PostTypeId = 2 AND DeletionDate IS NOT NULL") > 0
    wrong = one(con, """
      SELECT count(*) FROM PostsWithDeleted AS q WHERE q.PostTypeId = 1 AND q.AnswerCount <>
        (SELECT count(*) FROM PostsWithDeleted AS a WHERE a.ParentId = q.Id AND a.DeletionDate IS NULL)""")
    assert wrong == 0
    assert one(con, "SELECT count(*) FROM Posts WHERE DeletionDate IS NOT NULL") == 0


def test_each_ground_truth_row_describes_one_thing(con):
    assert one(con, "SELECT count(*) FROM GroundTruth WHERE (PostId IS NOT NULL)::INT + (CommentId IS NOT NULL)::INT "
                    "+ (UserId IS NOT NULL)::INT <> 1") == 0
    for table, column in (("PostsWithDeleted", "PostId"), ("CommentsWithDeleted", "CommentId"), ("Users", "UserId")):
        assert one(con, f"SELECT count({column}) FROM GroundTruth") == one(con, f"SELECT count(*) FROM {table}")
    assert one(con, "SELECT count(*) FROM GroundTruth AS g JOIN UserKinds AS k ON k.Id = g.UserKindId "
                    "WHERE k.Name <> 'Member'") > 0


def test_escalations_and_appeals_are_the_staff_cases(con, run):
    per_day = one(con, f"""SELECT count(*) FROM Escalations
                          WHERE CreationDate >= TIMESTAMP '2019-03-01' + INTERVAL {WARMUP_DAYS} DAY""") / (30 - WARMUP_DAYS)
    assert per_day == pytest.approx(run[1]["escalations_per_day"])
    assert one(con, "SELECT count(*) FROM Escalations WHERE (CauseFlagId IS NULL) = (CauseDetectionId IS NULL)") == 0
    # an appeal is of a sanction against the account that appeals; an upheld one lifted it
    assert one(con, "SELECT count(*) FROM Appeals WHERE IsUpheld") > 0
    assert one(con, "SELECT count(*) FROM Appeals AS a JOIN ModeratorActions AS m ON m.Id = a.ModeratorActionId "
                    "WHERE m.UserId <> a.UserId OR (a.IsUpheld AND m.ReversedDate IS NULL)") == 0
    assert one(con, "SELECT count(*) FROM Appeals WHERE (HandledDate IS NULL) <> (IsUpheld IS NULL)") == 0


def test_the_database_file_has_every_table_as_a_view(run):
    import duckdb

    db = duckdb.connect(str(run[0] / "tables" / "events.duckdb"), read_only=True)
    names = {r[0] for r in db.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"Posts", "PostsWithDeleted", "PostHistory", "GroundTruth", "CloseReasonTypes", "Suspensions"} <= names
    assert db.execute("SELECT count(*) FROM Posts").fetchall()[0][0] > 0


def _doc_queries() -> list[str]:
    text = (ROOT / "docs" / "data.md").read_text()
    return re.findall(r"```sql\n(.*?)```", text, flags=re.S)


def test_the_worked_examples_in_docs_data_md_run(con, run):
    queries = _doc_queries()
    assert len(queries) >= 3
    results = [run_query(con, q) for q in queries]
    assert all(r.num_rows > 0 for r in results)
    by_month = results[0].to_pydict()  # the first example: accepted share of questions by month
    assert sum(by_month["Questions"]) == one(con, "SELECT count(*) FROM PostsWithDeleted AS p JOIN GroundTruth "
                                                  "AS g ON g.PostId = p.Id WHERE PostTypeId = 1 AND HarmTypeId = 0")
    assert sum(by_month["Accepted"]) == one(con, "SELECT count(*) FROM PostsWithDeleted AS p JOIN GroundTruth AS g "
                                                 "ON g.PostId = p.Id WHERE PostTypeId = 1 AND HarmTypeId = 0 "
                                                 "AND AcceptedAnswerId IS NOT NULL")


def test_every_shipped_query_runs(con):
    assert {"median_time_to_spam_deletion", "flags_per_moderator_per_day", "newcomers_closed_never_returned",
            "top_harassment_targets", "close_reasons_by_month", "reviewers_failing_audits"} <= set(shipped_queries())
    for path in shipped_queries().values():
        run_query(con, path.read_text())
    closures = run_query(con, shipped_queries()["close_reasons_by_month"].read_text())
    assert sum(closures.column("Closures").to_pylist()) == one(con, "SELECT count(*) FROM PostHistory "
                                                                     "WHERE PostHistoryTypeId = 10")


def test_sql_prints_a_table(run, capsys):
    main(["sql", str(run[0]), "SELECT Name FROM PostTypes ORDER BY Id"])
    out = capsys.readouterr().out
    assert "Question" in out and "Answer" in out


def test_sql_writes_csv_and_parquet(run, tmp_path, capsys):
    main(["sql", str(run[0]), "SELECT Id, Name FROM VoteTypes ORDER BY Id", "--csv", str(tmp_path / "v.csv")])
    lines = (tmp_path / "v.csv").read_text().splitlines()
    assert lines[0] == '"Id","Name"' and '2,"UpMod"' in lines
    main(["sql", str(run[0]), "--query", "close_reasons_by_month", f"--parquet={tmp_path / 'c.parquet'}"])
    assert pq.read_table(tmp_path / "c.parquet").column_names == ["Month", "CloseReason", "Closures"]
    assert not list(tmp_path.glob(".*.tmp"))
    assert "rows written to" in capsys.readouterr().out


def test_sql_shell_runs_statements_until_quit(run):
    lines = iter(["SELECT count(*) AS n", "FROM PostTypes;", "SELEC nonsense;", ".quit", "SELECT 1;"])
    shown, written = [], []
    shell(open_run(run[0]), read=lambda prompt: next(lines), write=written.append, show=shown.append)
    assert [t.to_pydict() for t in shown] == [{"n": [2]}]
    assert any(w.startswith("error: bad SQL") for w in written)


@pytest.mark.parametrize(("args", "fragment"), [
    (["SELECT 1"], "no event tables"),
    (["--query", "nope"], "--query nope: unknown query"),
    (["SELECT * FROM Nowhere"], "bad SQL"),
    (["SELECT 1", "--tsv", "x"], "--tsv: unknown option"),
    (["SELECT 1", "--query", "close_reasons_by_month"], "one of them"),
    (["--csv", "x.csv"], "needs a query"),
])
def test_sql_bad_input_is_one_line_and_exit_2(run, tmp_path, capsys, args, fragment):
    folder = tmp_path if fragment == "no event tables" else run[0]
    with pytest.raises(SystemExit) as stop:
        main(["sql", str(folder), *args])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and len(err.splitlines()) == 1, err


def test_a_start_date_that_is_not_a_date_is_one_line(capsys):
    with pytest.raises(SystemExit) as stop:
        compose(["run.start_date=2018-13-01"])
    assert stop.value.code == 2
    assert "run.start_date=2018-13-01" in capsys.readouterr().err


def test_collect_gathers_every_runs_event_tables_with_a_run_id(run, tmp_path):
    import shutil

    import duckdb

    from experiments.collect import collect

    for job in ("0", "1"):
        shutil.copytree(run[0], tmp_path / job)
    (tmp_path / "2").mkdir()  # a run without event tables is left out of the gathered tables
    shutil.copy(run[0] / "summary.json", tmp_path / "2" / "summary.json")
    collect(tmp_path)
    db = duckdb.connect(str(tmp_path / "events.duckdb"), read_only=True)
    per_run = dict(db.execute("SELECT RunId, count(*) FROM Posts GROUP BY RunId").fetchall())
    single = one(connect(run[0] / "tables"), "SELECT count(*) FROM Posts")
    assert per_run == {"0": single, "1": single}
    assert db.execute("SELECT count(*) FROM PostTypes").fetchall()[0][0] == 2  # the lookups once
    runs = {r[0] for r in duckdb.connect(str(tmp_path / "results.duckdb")).execute("SELECT run_dir FROM runs").fetchall()}
    assert set(per_run) <= runs
