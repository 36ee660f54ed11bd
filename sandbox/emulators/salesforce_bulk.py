"""Salesforce Bulk API 2.0 ingest jobs: create, upload CSV, close, poll, read per-record results.

Jobs are rows of `sf_bulk_jobs` in the world file, so a job survives a server restart like a real
one survives a client crash. A closed job is processed at once (the client's next poll sees
JobComplete); rows go through the same checks and writes as the REST and Collections endpoints.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from starlette.responses import Response

from sandbox.emulators import salesforce_fields, salesforce_writes
from sandbox.emulators.credentials import SALESFORCE
from sandbox.emulators.routing import ApiError, ApiRequest, Route, json_response, route, write_lock
from sandbox.schema import ObjectSchema
from sandbox.store import salesforce_id, sf_datetime

OPERATIONS = ("insert", "update", "upsert", "delete")
DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
CLOSED_STATES = ("JobComplete", "Failed", "Aborted")


def _error(status: int, code: str, message: str) -> Response:
    return json_response([{"errorCode": code, "message": message}], status)


def _job(req: ApiRequest) -> dict[str, Any]:
    row = req.store.conn.execute("SELECT * FROM sf_bulk_jobs WHERE id = ?", (req.path_params["job"],)).fetchone()
    if row is None:
        raise ApiError(_error(404, "NOT_FOUND", "The requested resource does not exist"))
    return dict(row)


def _served(stamp: str) -> str:
    return stamp[:-1] + "+0000"


def _info(job: dict[str, Any], version: str, full: bool = True) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": job["id"],
        "operation": job["operation"],
        "object": job["object"],
        "createdById": SALESFORCE["user_id"],
        "createdDate": _served(job["created_date"]),
        "systemModstamp": _served(job["system_modstamp"]),
        "state": job["state"],
    }
    if job["external_id_field"]:
        info["externalIdFieldName"] = job["external_id_field"]
    info |= {
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": float(version),
        "contentUrl": f"services/data/v{version}/jobs/ingest/{job['id']}/batches",
        "lineEnding": job["line_ending"],
        "columnDelimiter": job["column_delimiter"],
    }
    if full:
        results = orjson.loads(job["results"]) if job["results"] else None
        rows = results["rows"] if results else []
        failed = sum(1 for r in rows if r["error"])
        info |= {
            "jobType": "V2Ingest",
            "numberRecordsProcessed": len(rows),
            "numberRecordsFailed": failed,
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
        if job["error_message"]:
            info["errorMessage"] = job["error_message"]
    return info


def _set(req: ApiRequest, job_id: str, **values: Any) -> None:
    with write_lock:
        values["system_modstamp"] = sf_datetime(req.store.next_write_time())
        req.store.conn.execute(
            f"UPDATE sf_bulk_jobs SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?", [*values.values(), job_id]
        )
        req.store.conn.commit()


def _version(req: ApiRequest) -> str:
    return req.path_params["version"]


def create_job(req: ApiRequest) -> Response:
    try:
        body = req.json()
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return _error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    name = str(body.get("object") or "")
    obj = salesforce_fields.served(name)
    if obj is None:
        return _error(400, "INVALIDENTITY", f"sObject type '{name}' is not supported.")
    operation = body.get("operation")
    if operation not in OPERATIONS:
        return _error(
            400, "FEATURENOTENABLED", f"operation {operation!r} is not supported; use {', '.join(OPERATIONS)}"
        )
    ext = body.get("externalIdFieldName")
    if operation == "upsert":
        if not ext:
            return _error(400, "INVALIDJOB", "externalIdFieldName is required for upsert jobs")
        if not (ext.lower() == "id" or (obj.has_field(ext) and obj.field(ext).external_id)):
            return _error(400, "INVALIDJOB", f"Field {ext} is not an External ID field of {obj.name}")
        ext = "Id" if ext.lower() == "id" else obj.field(ext).name
    if body.get("contentType", "CSV") != "CSV":
        return _error(400, "INVALIDJOB", "contentType must be CSV")
    line_ending = body.get("lineEnding", "LF")
    delimiter = body.get("columnDelimiter", "COMMA")
    if line_ending not in LINE_ENDINGS or delimiter not in DELIMITERS:
        return _error(
            400, "INVALIDJOB", "lineEnding must be LF or CRLF; columnDelimiter one of " + ", ".join(DELIMITERS)
        )
    store = req.store
    with write_lock:
        job_id = salesforce_id("750", store.next_numbers("sf_bulk_jobs", 1)[0])
        now = sf_datetime(store.next_write_time())
        store.conn.execute(
            "INSERT INTO sf_bulk_jobs (id, object, operation, external_id_field, state, line_ending, column_delimiter, "
            "created_date, system_modstamp) VALUES (?, ?, ?, ?, 'Open', ?, ?, ?, ?)",
            (job_id, obj.name, operation, ext if operation == "upsert" else None, line_ending, delimiter, now, now),
        )
        store.conn.commit()
    job = dict(store.conn.execute("SELECT * FROM sf_bulk_jobs WHERE id = ?", (job_id,)).fetchone())
    return json_response(_info(job, _version(req), full=False))


def list_jobs(req: ApiRequest) -> Response:
    jobs = [dict(r) for r in req.store.conn.execute("SELECT * FROM sf_bulk_jobs ORDER BY created_date, id")]
    return json_response(
        {"done": True, "records": [_info(j, _version(req), full=False) for j in jobs], "nextRecordsUrl": None}
    )


def get_job(req: ApiRequest) -> Response:
    return json_response(_info(_job(req), _version(req)))


def upload(req: ApiRequest) -> Response:
    job = _job(req)
    if job["state"] != "Open":
        return _error(
            409, "INVALIDJOBSTATE", f"Job {job['id']} is {job['state']}, data can be uploaded only while Open"
        )
    if job["content"]:
        return _error(409, "INVALIDJOBSTATE", "Data has already been uploaded for this job; create another job")
    if not req.body.strip():
        return _error(400, "INVALIDJOB", "The CSV upload is empty")
    _set(req, job["id"], content=req.body.decode("utf-8-sig"))
    return Response(status_code=201)


def _parse(job: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    text = job["content"] or ""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job["column_delimiter"]])
    rows = [r for r in reader if r]
    return (rows[0], rows[1:]) if rows else ([], [])


def _process(req: ApiRequest, job: dict[str, Any]) -> None:
    """Run the job's rows; a bad header fails the whole job as Salesforce does."""
    obj = salesforce_fields.SERVED[job["object"]]
    header, rows = _parse(job)
    unknown = [h for h in header if not obj.has_field(h)]
    needed = {"update": "Id", "delete": "Id", "upsert": job["external_id_field"]}.get(job["operation"])
    problem = None
    if not header:
        problem = "InvalidBatch : No content uploaded for this job"
    elif unknown:
        problem = f"InvalidBatch : Field name not found : {unknown[0]}"
    elif needed and needed.lower() not in (h.lower() for h in header):
        problem = f"InvalidBatch : Field name not found : {needed}"
    if problem:
        _set(req, job["id"], state="Failed", error_message=problem)
        return
    records = [dict(zip(header, row, strict=False)) for row in rows]
    if job["operation"] == "delete":
        outcomes = _delete(req, obj, records)
    else:
        plans = salesforce_writes.write(
            req.store,
            obj,
            records,
            job["operation"],
            ext_field=job["external_id_field"],
            hits=req.faults,
            from_csv=True,
        )
        outcomes = [{"id": p.id, "created": p.created, "error": _error_text(p.errors)} for p in plans]
    results = {"header": header, "rows": [{**o, "values": row} for o, row in zip(outcomes, rows, strict=True)]}
    _set(req, job["id"], state="JobComplete", results=orjson.dumps(results).decode())


def _delete(req: ApiRequest, obj: ObjectSchema, records: list[dict[str, str]]) -> list[dict[str, Any]]:
    outcomes = []
    with write_lock:
        at = req.store.next_write_time()
        for rec in records:
            rid = next((v for k, v in rec.items() if k.lower() == "id"), "")
            if req.store.count(obj, '"Id" = ? AND COALESCE("IsDeleted", 0) = 0', (rid,)):
                req.store.soft_delete(salesforce_fields.stored_schema(req.store, obj), [rid], at)
                outcomes.append({"id": rid, "created": False, "error": None})
            else:
                outcomes.append(
                    {"id": rid or None, "created": False, "error": "ENTITY_IS_DELETED:entity is deleted:--"}
                )
    return outcomes


def _error_text(errors: list[dict[str, Any]]) -> str | None:
    """sf__Error as Bulk API writes it: CODE:message:fields --"""
    if not errors:
        return None
    return " ; ".join(f"{e['statusCode']}:{e['message']}:{','.join(e['fields'])} --" for e in errors)


def set_state(req: ApiRequest) -> Response:
    job = _job(req)
    try:
        body = req.json()
    except orjson.JSONDecodeError:
        body = None
    state = body.get("state") if isinstance(body, dict) else None
    if state == "UploadComplete":
        if job["state"] != "Open":
            return _error(
                409, "INVALIDJOBSTATE", f"Job {job['id']} is {job['state']}, it can be closed only while Open"
            )
        _process(req, job)
        # The caller sees UploadComplete, as from the real service; its next poll sees the outcome.
        return json_response({**_info(job, _version(req), full=False), "state": "UploadComplete"})
    if state == "Aborted":
        if job["state"] in CLOSED_STATES:
            return _error(409, "INVALIDJOBSTATE", f"Job {job['id']} is already {job['state']}")
        _set(req, job["id"], state="Aborted")
        return json_response(_info(_job(req), _version(req), full=False))
    return _error(400, "INVALIDJOBSTATE", f"state must be UploadComplete or Aborted, got {state!r}")


def delete_job(req: ApiRequest) -> Response:
    job = _job(req)
    with write_lock:
        req.store.conn.execute("DELETE FROM sf_bulk_jobs WHERE id = ?", (job["id"],))
        req.store.conn.commit()
    return Response(status_code=204)


def _csv(rows: list[list[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(rows)
    return Response(out.getvalue().encode(), 200, media_type="text/csv")


def results(req: ApiRequest) -> Response:
    job = _job(req)
    kind = req.path_params["kind"]
    stored = orjson.loads(job["results"]) if job["results"] else None
    if kind.lower() == "unprocessedrecords":
        header, rows = _parse(job)
        return _csv([header, *([] if stored else rows)] if header else [])
    if stored is None:
        header = _parse(job)[0]
        first = ["sf__Id", "sf__Created"] if kind == "successfulResults" else ["sf__Id", "sf__Error"]
        return _csv([first + header])
    header = stored["header"]
    if kind == "successfulResults":
        lines = [["sf__Id", "sf__Created", *header]]
        lines += [
            [r["id"], "true" if r["created"] else "false", *r["values"]] for r in stored["rows"] if not r["error"]
        ]
    else:
        lines = [["sf__Id", "sf__Error", *header]]
        lines += [[r["id"] or "", r["error"], *r["values"]] for r in stored["rows"] if r["error"]]
    return _csv(lines)


def _job_object(req: ApiRequest) -> str | None:
    row = req.store.conn.execute("SELECT object FROM sf_bulk_jobs WHERE id = ?", (req.path_params["job"],)).fetchone()
    return row[0] if row else None


def _body_object(req: ApiRequest) -> str | None:
    try:
        body = req.json()
    except orjson.JSONDecodeError:
        return None
    return body.get("object") if isinstance(body, dict) else None


def routes(data: str) -> tuple[Route, ...]:
    jobs = data + r"/jobs/ingest"
    job = jobs + r"/(?P<job>\w{15,18})"
    return (
        route("salesforce", "bulk_create_job", "POST", jobs, create_job, write=True, object_of=_body_object),
        route("salesforce", "bulk_list_jobs", "GET", jobs, list_jobs),
        route("salesforce", "bulk_get_job", "GET", job, get_job, object_of=_job_object),
        route("salesforce", "bulk_upload", "PUT", job + r"/batches", upload, write=True, object_of=_job_object),
        route("salesforce", "bulk_set_state", "PATCH", job, set_state, write=True, object_of=_job_object),
        route("salesforce", "bulk_delete_job", "DELETE", job, delete_job, write=True, object_of=_job_object),
        route(
            "salesforce",
            "bulk_results",
            "GET",
            job + r"/(?P<kind>successfulResults|failedResults|unprocessed[Rr]ecords)",
            results,
            object_of=_job_object,
        ),
    )
