"""The remote API shows a run *finished with errors* as its state, with where it raised;
every response checked against docs/remote-api.yaml (openapi-core)."""

from __future__ import annotations

from remote.conftest import serve_main_while


def test_a_run_finished_with_errors_goes_out_as_its_state_and_matches_the_spec(rig):
    s = rig.session
    try:
        s.runExperiment("exporterr/export_fails.py", {"participant": "remote"})
    except IndexError:  # PsychoPy's saveAsExcel, after the last trial
        pass
    rec = s.run_records[-1]
    assert rec.state == "finished with errors"
    got = {}

    def client():
        got["runs"] = rig.request("GET", "/api/v1/runs")  # validated against the spec
        got["status"] = rig.request("GET", "/api/v1/status")

    serve_main_while(s, client)
    st, runs = got["runs"]
    assert st == 200
    (run,) = runs["runs"]
    assert run["state"] == "finished with errors" and run["n_trials"] == 6
    assert run["error"] == "IndexError: list index out of range" and run["error_at"] == rec.error_at
    assert runs["logged"][0]["outcome"] == "finished with errors"
    assert got["status"][0] == 200
