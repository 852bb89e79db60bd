"""The OpenAPI 3.1 document of every /api/ route, built as data and served at GET /api/v1/openapi.json.

tests/webapp/test_openapi.py checks it against the app's routes in both directions.
"""

from flask import Blueprint, jsonify

from library import MAX_POINTS_PER_PAGE, QUEUE_FROM_FILES
from projects.predict import ANOMALY

blueprint = Blueprint("openapi", __name__)

# A Bearer token, or a logged-in page session with its X-CSRF-Token header.
ADMIN: list[dict[str, list[str]]] = [{"adminToken": []}]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


def _original_error(description: str) -> dict:
    return _json(_ref("OriginalError"), description)


def _object(properties: dict, required: tuple = ()) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _nullable(kind: str) -> dict:
    return {"type": [kind, "null"]}


STRING, INTEGER, NUMBER, BOOLEAN = (
    {"type": kind} for kind in ("string", "integer", "number", "boolean")
)
BASE64 = {
    "type": "string",
    "contentEncoding": "base64",
    "description": "the image file, base64 (a data: URL prefix is fine)",
}
BINARY = {"type": "string", "format": "binary"}
SIDE = {
    "type": "string",
    "enum": ["train", "test"],
    "description": "default: a stable rule on the photo's sha256",
}

PROJECT = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": STRING,
    "description": 'the project\'s name ("common" is the shared pool of "none of these" photos)',
}
PHOTO_ID = {"name": "photo_id", "in": "path", "required": True, "schema": INTEGER}
NUMBER_PARAM = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": INTEGER,
    "description": "the version's number",
}
JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": STRING}

UNAUTHORIZED = _error("no admin token, or a wrong one")
NOT_FOUND = _error("no such project (or photo, version, job)")
INVALID = _error("a field the server can't use, said in words")
TOO_LARGE = _error("the request is over the upload limit")
NO_MODEL = _error("the project has no trained model yet")

SCHEMAS = {
    "Error": _object(
        {
            "error": _object({"code": STRING, "message": STRING}, ("code", "message")),
            "job_id": {**STRING, "description": "on 409: the job in the way"},
        },
        ("error",),
    ),
    "OriginalError": _object(
        {"error_msg": {"oneOf": [STRING, {"type": "array", "items": STRING}]}, "job_id": STRING},
        ("error_msg",),
    ),
    "Prediction": _object(
        {
            "predictions": {"type": "array", "items": _object({"label": STRING, "proba": NUMBER})},
            "label": {
                **STRING,
                "description": '"unknown" when the confidence is below the model\'s threshold',
            },
            "unknown": BOOLEAN,
            "id": {
                **STRING,
                "description": "the served prediction's short id, for POST /api/v1/feedback; kept "
                "PETCLF_PREDICTION_DAYS (default 7)",
            },
            "tags": {
                "type": "array",
                "items": _object({"tag": STRING, "proba": NUMBER}),
                "description": "with a tags model (PETCLF_TAGS_MODEL): the tags at or above "
                "their thresholds, likeliest first",
            },
        },
        ("predictions", "label", "unknown"),
    ),
    "Correction": _object(
        {
            "id": INTEGER,
            "prediction_id": STRING,
            "version": {**_nullable("integer"), "description": "the version that answered"},
            "predicted": {**STRING, "description": "what the model answered"},
            "predictions": {"type": "array", "items": _object({"label": STRING, "proba": NUMBER})},
            "label": {**STRING, "description": 'the class it should have said, or "none"'},
            "state": {"type": "string", "enum": ["pending", "accepted", "rejected"]},
            "channel": {"type": "string", "enum": ["page", "api", "bot"]},
            "sha256": {**STRING, "description": "of the photo"},
            "created_at": STRING,
            "reviewed_at": _nullable("string"),
        }
    ),
    "ClassCounts": {
        "type": "object",
        "additionalProperties": _object({"train": INTEGER, "test": INTEGER}),
        "description": "photos per class and side",
    },
    "Job": _object(
        {
            "id": STRING,
            "kind": STRING,
            "state": {"enum": ["queued", "running", "done", "failed", "cancelled"]},
            "phase": STRING,
            "step": INTEGER,
            "total": INTEGER,
            "eta_seconds": _nullable("number"),
            "metrics": {"type": "object"},
            "message": STRING,
            "error": _nullable("string"),
            "result": _nullable("object"),
            "cancel_requested": BOOLEAN,
            "created_at": STRING,
            "started_at": _nullable("string"),
            "finished_at": _nullable("string"),
        }
    ),
    "Project": _object(
        {
            "name": STRING,
            "created_at": STRING,
            "classes": _ref("ClassCounts"),
            "photos": INTEGER,
            "warnings": {"type": "array", "items": STRING},
            "active_version": _nullable("integer"),
            "versions": INTEGER,
            "job": {
                "oneOf": [_ref("Job"), {"type": "null"}],
                "description": "the queued or running job",
            },
        }
    ),
    "Version": _object(
        {
            "number": INTEGER,
            "active": BOOLEAN,
            "created_at": STRING,
            "job_id": _nullable("string"),
            "labels": {"type": "array", "items": STRING},
            "accuracy": _nullable("number"),
            "test_images": _nullable("integer"),
            "per_class": _nullable("object"),
            "confusion_matrix": _nullable("array"),
            "threshold": NUMBER,
            "false_accept_rate": _nullable("number"),
        }
    ),
    "Outcome": _object(
        {
            "name": STRING,
            "status": {"enum": ["stored", "duplicate", "rejected"]},
            "reason": STRING,
            "sha256": STRING,
            "photo_id": INTEGER,
            "side": STRING,
            "near_duplicates": {"type": "array", "items": STRING},
        },
        ("name", "status"),
    ),
    "Photo": _object(
        {
            "id": INTEGER,
            "name": STRING,
            "class": _nullable("string"),
            "side": STRING,
            "source": STRING,
            "sha256": STRING,
            "created_at": STRING,
        }
    ),
    "LogLine": _object(
        {
            "at": STRING,
            "level": STRING,
            "event": STRING,
            "message": STRING,
            "job_id": _nullable("string"),
        }
    ),
}

PHOTO_UPLOAD = {
    "multipart/form-data": {
        "schema": _object(
            {"class": STRING, "side": SIDE, "file": {"type": "array", "items": BINARY}}, ("file",)
        )
    },
    "application/json": {
        "schema": _object(
            {
                "class": STRING,
                "side": SIDE,
                "images": {
                    "type": "array",
                    "items": _object({"name": STRING, "image": BASE64}, ("image",)),
                },
            },
            ("images",),
        )
    },
}
IMAGES = {
    "multipart/form-data": {
        "schema": _object({"file": {"type": "array", "items": BINARY}}, ("file",))
    },
    "application/json": {
        "schema": {
            "oneOf": [
                _object({"image": BASE64}, ("image",)),
                _object({"images": {"type": "array", "items": BASE64}}, ("images",)),
            ]
        }
    },
}


def _operation(
    summary: str, responses: dict, *, admin: bool = False, parameters=(), body: dict | None = None
) -> dict:
    operation = {"summary": summary, "responses": responses}
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    if admin:
        operation["security"] = ADMIN
        responses.setdefault("401", UNAUTHORIZED)
    return operation


def _json_body(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


REST_V1 = {
    "/api/v1/projects": {
        "get": _operation(
            "List the projects.",
            {
                "200": _json(
                    _object({"projects": {"type": "array", "items": _ref("Project")}}),
                    "the projects",
                )
            },
        ),
        "post": _operation(
            "Create a project, optionally with its classes.",
            {
                "201": _json(_ref("Project"), "the new project"),
                "409": _error("a project of that name exists"),
                "422": INVALID,
            },
            admin=True,
            body=_json_body(
                _object({"name": STRING, "classes": {"type": "array", "items": STRING}}, ("name",))
            ),
        ),
    },
    "/api/v1/projects/{name}": {
        "get": _operation(
            "A project, with the common pool's counts.",
            {
                "200": _json(
                    {
                        "allOf": [
                            _ref("Project"),
                            _object({"pool": _object({"train": INTEGER, "test": INTEGER})}),
                        ]
                    },
                    "the project",
                ),
                "404": NOT_FOUND,
            },
            parameters=[PROJECT],
        ),
        "delete": _operation(
            "Delete a project, its photos and its versions.",
            {
                "204": {"description": "deleted"},
                "404": NOT_FOUND,
                "409": _error("a job of the project is queued or running"),
            },
            admin=True,
            parameters=[PROJECT],
        ),
    },
    "/api/v1/projects/{name}/photos": {
        "post": _operation(
            "Add labelled photos to a class (no class for the common pool). Each photo is decoded; an exact "
            "duplicate is stored once; near duplicates are reported.",
            {
                "200": _json(
                    _object(
                        {
                            "results": {"type": "array", "items": _ref("Outcome")},
                            "summary": _object(
                                {"stored": INTEGER, "duplicate": INTEGER, "rejected": INTEGER}
                            ),
                            "counts": _ref("ClassCounts"),
                        }
                    ),
                    "one outcome per photo",
                ),
                "400": _error("no photo, or broken base64"),
                "404": NOT_FOUND,
                "413": TOO_LARGE,
                "415": _error("every photo was refused: none is an image"),
                "422": _error(
                    "every photo was refused (the first reason; `results` beside it), or a bad class name or side"
                ),
            },
            admin=True,
            parameters=[PROJECT],
            body=PHOTO_UPLOAD,
        ),
        "get": _operation(
            "List a project's photos, with per-class counts.",
            {
                "200": _json(
                    _object(
                        {
                            "counts": _ref("ClassCounts"),
                            "photos": {"type": "array", "items": _ref("Photo")},
                        }
                    ),
                    "the photos",
                ),
                "404": NOT_FOUND,
                "422": INVALID,
            },
            parameters=[
                PROJECT,
                {"name": "class", "in": "query", "schema": STRING},
                {"name": "side", "in": "query", "schema": SIDE},
            ],
        ),
    },
    "/api/v1/projects/{name}/photos/{photo_id}/image": {
        "get": _operation(
            "The photo's original file.",
            {
                "200": {
                    "description": "the original bytes",
                    "content": {"image/*": {"schema": BINARY}},
                },
                "404": NOT_FOUND,
            },
            admin=True,
            parameters=[PROJECT, PHOTO_ID],
        ),
    },
    "/api/v1/projects/{name}/photos/{photo_id}": {
        "delete": _operation(
            "Delete a photo.",
            {"204": {"description": "deleted"}, "404": NOT_FOUND},
            admin=True,
            parameters=[PROJECT, PHOTO_ID],
        ),
    },
    "/api/v1/projects/{name}/train": {
        "post": _operation(
            "Queue a training job (the body is optional).",
            {
                "202": _json(_object({"job": _ref("Job")}), "the queued job"),
                "400": _error("a model exists and forceful is false"),
                "404": NOT_FOUND,
                "409": _error("the project has a queued or running job (job_id beside the error)"),
                "422": _error(
                    "fewer than 2 classes, a class under 5 photos (named), or forceful not a boolean"
                ),
                "503": _error("the job queue can't be reached"),
            },
            admin=True,
            parameters=[PROJECT],
            body=_json_body(
                _object(
                    {
                        "forceful": {
                            **BOOLEAN,
                            "default": True,
                            "description": "train even if a model exists",
                        }
                    }
                )
            ),
        ),
    },
    "/api/v1/jobs/{job_id}": {
        "get": _operation(
            "A job's state and progress.",
            {"200": _json(_ref("Job"), "the job"), "404": NOT_FOUND},
            parameters=[JOB_ID],
        ),
        "delete": _operation(
            "Cancel a job; waits up to 5 s for it to stop.",
            {
                "200": _json(_ref("Job"), "the job, stopped"),
                "202": _json(_ref("Job"), "the job, still stopping"),
                "404": NOT_FOUND,
            },
            admin=True,
            parameters=[JOB_ID],
        ),
    },
    "/api/v1/projects/{name}/versions": {
        "get": _operation(
            "The project's model versions.",
            {
                "200": _json(
                    _object(
                        {
                            "versions": {"type": "array", "items": _ref("Version")},
                            "active": _nullable("integer"),
                        }
                    ),
                    "the versions",
                ),
                "404": NOT_FOUND,
            },
            parameters=[PROJECT],
        ),
    },
    "/api/v1/projects/{name}/versions/{number}/activate": {
        "post": _operation(
            "Serve this version (rollback).",
            {"200": _json(_ref("Version"), "the version, now active"), "404": NOT_FOUND},
            admin=True,
            parameters=[PROJECT, NUMBER_PARAM],
        ),
    },
    "/api/v1/projects/{name}/versions/{number}/confusion_matrix.png": {
        "get": _operation(
            "The confusion matrix of the version's test photos.",
            {
                "200": {"description": "the picture", "content": {"image/png": {"schema": BINARY}}},
                "404": _error("no such version, or it had no test photos"),
            },
            parameters=[PROJECT, NUMBER_PARAM],
        ),
    },
    "/api/v1/projects/{name}/predict": {
        "post": _operation(
            "Classify one photo (the prediction) or several (one result each) with the project's active version.",
            {
                "200": _json(
                    {
                        "oneOf": [
                            _ref("Prediction"),
                            _object(
                                {
                                    "results": {
                                        "type": "array",
                                        "items": {"oneOf": [_ref("Prediction"), _ref("Error")]},
                                    }
                                }
                            ),
                        ]
                    },
                    "the prediction, or one result per photo",
                ),
                "400": _error("no photo, or broken base64"),
                "404": NOT_FOUND,
                "409": NO_MODEL,
                "413": TOO_LARGE,
                "415": _error("not an image"),
                "422": _error("a damaged image or too many pixels"),
            },
            parameters=[PROJECT],
            body=IMAGES,
        ),
    },
    "/api/v1/projects/{name}/export": {
        "get": _operation(
            "A zip of a version (default: the active one): the .h5, its card, labels.txt and the .tflite.",
            {
                "200": {
                    "description": "the zip, as an attachment",
                    "content": {"application/zip": {"schema": BINARY}},
                },
                "404": NOT_FOUND,
                "409": NO_MODEL,
                "422": INVALID,
            },
            admin=True,
            parameters=[PROJECT, {"name": "version", "in": "query", "schema": INTEGER}],
        ),
    },
    "/api/v1/projects/{name}/log": {
        "get": _operation(
            "The project's status and its log (structured lines).",
            {
                "200": _json(
                    _object(
                        {
                            "status": _ref("Project"),
                            "log": {"type": "array", "items": _ref("LogLine")},
                        }
                    ),
                    "status and log",
                ),
                "404": NOT_FOUND,
            },
            parameters=[PROJECT],
        ),
    },
    "/api/v1/openapi.json": {
        "get": _operation(
            "This document.",
            {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
        ),
    },
}

ORIGINAL_FLAGS = {
    name: BOOLEAN
    for name in (
        "got_training_data_flag",
        "got_testing_data_flag",
        "made_model_architecture_flag",
        "trained_model_flag",
        "tested_model_flag",
        "saved_model_flag",
    )
}

ORIGINAL = {
    "/api/save_data": {
        "post": _operation(
            'Store one labelled photo (the original API). A missing project is created; temple_id "common" fills '
            "the shared pool (category ignored).",
            {
                "200": _json(
                    _object(
                        {
                            "error_msg": {"const": "All OK"},
                            "duplicate": BOOLEAN,
                            "near_duplicates": {"type": "array", "items": STRING},
                        }
                    ),
                    "stored (or stored already)",
                ),
                "400": _original_error("not JSON, no image, or broken base64"),
                "401": _original_error("no admin token, or a wrong one"),
                "413": _original_error("over the upload limit"),
                "415": _original_error("not an image"),
                "422": _original_error(
                    "a bad project or class name, train_test not train/test, a damaged image or too many pixels"
                ),
            },
            admin=True,
            body=_json_body(
                _object(
                    {
                        "temple_id": STRING,
                        "train_test": SIDE,
                        "category": STRING,
                        "image": BASE64,
                        "image_type": STRING,
                        "image_name": STRING,
                    },
                    ("temple_id", "image"),
                )
            ),
        ),
    },
    "/api/make_model": {
        "post": _operation(
            "Train the project and wait for it (bounded), or with async return the job id at once.",
            {
                "200": _json(
                    _object(
                        {
                            **ORIGINAL_FLAGS,
                            "error_msg": {"type": "array", "items": STRING},
                            "job_id": STRING,
                            "version": _nullable("integer"),
                        }
                    ),
                    "the job finished: the original flags",
                ),
                "202": _json(
                    _object(
                        {
                            **ORIGINAL_FLAGS,
                            "error_msg": {"type": "array", "items": STRING},
                            "job_id": STRING,
                        }
                    ),
                    "async, or still training when the wait ended",
                ),
                "400": _original_error("a model exists and forceful is false"),
                "401": _original_error("no admin token, or a wrong one"),
                "404": _original_error("no such project"),
                "409": _original_error("the project has a queued or running job"),
                "422": _original_error(
                    "fewer than 2 classes, a class under 5 photos, or a non-boolean forceful/async, or a bad timeout"
                ),
                "503": _original_error("the job queue can't be reached"),
            },
            admin=True,
            body=_json_body(
                _object(
                    {
                        "temple_id": STRING,
                        "forceful": {**BOOLEAN, "default": False},
                        "async": {**BOOLEAN, "default": False},
                        "timeout": {
                            **NUMBER,
                            "default": 600,
                            "maximum": 3600,
                            "description": "seconds to wait",
                        },
                    },
                    ("temple_id",),
                )
            ),
        ),
    },
    "/api/predict": {
        "post": _operation(
            f'Classify one photo or a list (the original API); a photo the unknown rule rejects is "{ANOMALY}".',
            {
                "200": _json(
                    _object(
                        {
                            "error_msg": {"type": "array", "items": STRING},
                            "image_class": {"type": "array", "items": _nullable("string")},
                            "class_confidence": {"type": "array", "items": _nullable("number")},
                            "prediction_id": {
                                "type": "array",
                                "items": _nullable("string"),
                                "description": "each answer's id, for POST /api/v1/feedback",
                            },
                        }
                    ),
                    "one class and confidence per photo (null where that photo failed, named in error_msg)",
                ),
                "400": _original_error("no image, or broken base64"),
                "404": _original_error("no such project"),
                "409": _original_error("the project has no trained model yet"),
                "413": _original_error("over the upload limit"),
                "415": _original_error("not an image"),
                "422": _original_error("a damaged image or too many pixels"),
            },
            body=_json_body(
                _object(
                    {
                        "temple_id": STRING,
                        "image": {"oneOf": [BASE64, {"type": "array", "items": BASE64}]},
                        "image_name": {"oneOf": [STRING, {"type": "array", "items": STRING}]},
                        "image_type": STRING,
                    },
                    ("temple_id", "image"),
                )
            ),
        ),
    },
}

SHIPPED_MODEL = {
    "/api/v1/predict": {
        "post": _operation(
            "Classify one photo with the shipped model.",
            {
                "200": _json(_ref("Prediction"), "the prediction"),
                "400": _error("no photo, broken base64, or a bad top"),
                "413": TOO_LARGE,
                "415": _error("not an image"),
                "422": _error("a damaged image or too many pixels"),
            },
            parameters=[
                {
                    "name": "top",
                    "in": "query",
                    "schema": {**INTEGER, "minimum": 1, "maximum": 20, "default": 5},
                }
            ],
            body={
                "multipart/form-data": {"schema": _object({"file": BINARY}, ("file",))},
                "application/json": {"schema": _object({"image": BASE64}, ("image",))},
            },
        ),
    },
    "/api/v1/model": {
        "get": _operation(
            "The shipped model's card.", {"200": _json({"type": "object"}, "the model card")}
        ),
    },
}

LIBRARY_FILTERS = [
    {
        "name": "class",
        "in": "query",
        "schema": {"type": "array", "items": STRING},
        "style": "form",
        "explode": True,
        "description": "the predicted class; repeat (or separate by commas) for several",
    },
    {
        "name": "tag",
        "in": "query",
        "schema": {"type": "array", "items": STRING},
        "style": "form",
        "explode": True,
        "description": "a tag the photo carries; repeated, every one",
    },
    {
        "name": "from",
        "in": "query",
        "schema": {**STRING, "format": "date"},
        "description": "taken on or after (YYYY-MM-DD)",
    },
    {
        "name": "to",
        "in": "query",
        "schema": {**STRING, "format": "date"},
        "description": "taken on or before (YYYY-MM-DD)",
    },
    {
        "name": "near",
        "in": "query",
        "schema": STRING,
        "description": "LAT,LON in decimal degrees; with within_km",
    },
    {
        "name": "within_km",
        "in": "query",
        "schema": {**NUMBER, "exclusiveMinimum": 0, "maximum": 20100},
        "description": "with near",
    },
    {
        "name": "place",
        "in": "query",
        "schema": STRING,
        "description": "a city or country, as the photo's place names it",
    },
    {
        "name": "without_gps",
        "in": "query",
        "schema": {"enum": ["include", "exclude", "only"]},
        "description": "photos without a position: default include, or exclude when near is given",
    },
]
LIBRARY_PAGING = [
    {"name": "page", "in": "query", "schema": {**INTEGER, "minimum": 1, "default": 1}},
    {
        "name": "per_page",
        "in": "query",
        "schema": {**INTEGER, "minimum": 1, "maximum": 500, "default": 50},
    },
]
POINTS_PAGING = [
    LIBRARY_PAGING[0],
    {
        "name": "per_page",
        "in": "query",
        "schema": {
            **INTEGER,
            "minimum": 1,
            "maximum": MAX_POINTS_PER_PAGE,
            "default": MAX_POINTS_PER_PAGE,
        },
    },
]
BAD_FILTER = _error("a filter, page or per_page the server can't use, named in the message")
NO_PHOTO = _error("no such photo in the library")
JPEG = {"description": "the picture", "content": {"image/jpeg": {"schema": BINARY}}}
LIBRARY_PHOTO = _object(
    {
        "id": INTEGER,
        "name": STRING,
        "taken_at": STRING,
        "date_source": {"enum": ["DateTimeOriginal", "DateTime", "file", "upload"]},
        "latitude": _nullable("number"),
        "longitude": _nullable("number"),
        "place": _nullable("string"),
        "label": STRING,
        "confidence": NUMBER,
        "tags": {"type": "array", "items": STRING},
        "group_id": _nullable("integer"),
        "shared": BOOLEAN,
        "thumbnail": STRING,
        "view": STRING,
        "page": STRING,
    }
)
SCHEMAS["LibraryPhoto"] = LIBRARY_PHOTO
SCHEMAS["LibraryOutcome"] = _object(
    {
        "name": STRING,
        "status": {"enum": ["added", "near_duplicate", "duplicate", "damaged", "skipped"]},
        "reason": STRING,
        "photo_id": INTEGER,
        "group_id": INTEGER,
        "sha256": STRING,
        "notes": {"type": "array", "items": STRING},
    },
    ("name", "status"),
)
LIBRARY_ADDED = _object(
    {
        "results": {"type": "array", "items": _ref("LibraryOutcome")},
        "summary": {
            "type": "object",
            "additionalProperties": INTEGER,
            "description": "photos per status",
        },
    }
)

LIBRARY = {
    "/api/v1/library/photos": {
        "get": _operation(
            "Find library photos by the filters, in time order (oldest first), a page at a time.",
            {
                "200": _json(
                    _object(
                        {
                            "total": INTEGER,
                            "page": INTEGER,
                            "per_page": INTEGER,
                            "pages": INTEGER,
                            "photos": {"type": "array", "items": _ref("LibraryPhoto")},
                        }
                    ),
                    "one page of the matching photos",
                ),
                "400": BAD_FILTER,
            },
            parameters=[*LIBRARY_FILTERS, *LIBRARY_PAGING],
        ),
        "post": _operation(
            f"Add photos: up to {QUEUE_FROM_FILES} are ingested at once (one outcome each); more are queued as a "
            "library_ingest job, whose progress GET /api/v1/jobs/{job_id} tells.",
            {
                "200": _json(LIBRARY_ADDED, "one outcome per photo"),
                "202": _json(_object({"job": _ref("Job")}), "the queued job"),
                "400": _error("no photo, or shared not true or false"),
                "413": TOO_LARGE,
                "415": _error("not a multipart form"),
                "422": _json(
                    {"allOf": [_ref("Error"), LIBRARY_ADDED]},
                    "no photo could be added (each one's outcome beside the error)",
                ),
                "503": _error("the job queue can't be reached"),
            },
            admin=True,
            body={
                "multipart/form-data": {
                    "schema": _object(
                        {
                            "file": {"type": "array", "items": BINARY},
                            "shared": {
                                **STRING,
                                "enum": ["true", "false", "1", "0", "on", "off"],
                                "description": "keep them in the shared gallery too",
                            },
                        },
                        ("file",),
                    )
                }
            },
        ),
    },
    "/api/v1/library/photos/{photo_id}": {
        "get": _operation(
            "Everything about one photo: EXIF, camera, position, place, predictions, tags, look-alikes.",
            {
                "200": _json(
                    {
                        "allOf": [
                            _ref("LibraryPhoto"),
                            _object(
                                {
                                    "sha256": STRING,
                                    "format": STRING,
                                    "width": INTEGER,
                                    "height": INTEGER,
                                    "altitude": _nullable("number"),
                                    "city": _nullable("string"),
                                    "country": _nullable("string"),
                                    "camera": _nullable("string"),
                                    "exif": {"type": "object"},
                                    "predictions": _ref("Prediction"),
                                    "objects": {"oneOf": [_ref("Prediction"), {"type": "null"}]},
                                    "tags": {
                                        "type": "array",
                                        "items": _object({"tag": STRING, "proba": NUMBER}),
                                    },
                                    "group": {"type": "array", "items": INTEGER},
                                    "notes": {"type": "array", "items": STRING},
                                    "source_path": _nullable("string"),
                                    "added_at": STRING,
                                }
                            ),
                        ]
                    },
                    "the photo",
                ),
                "404": NO_PHOTO,
            },
            parameters=[PHOTO_ID],
        ),
        "delete": _operation(
            "Delete a photo from the library (and the gallery).",
            {"204": {"description": "deleted"}, "404": NO_PHOTO},
            admin=True,
            parameters=[PHOTO_ID],
        ),
    },
    "/api/v1/library/photos/{photo_id}/thumbnail": {
        "get": _operation(
            "The photo's thumbnail (at most 320 px, no metadata).",
            {"200": JPEG, "404": NO_PHOTO},
            parameters=[PHOTO_ID],
        ),
    },
    "/api/v1/library/photos/{photo_id}/view": {
        "get": _operation(
            "The photo upright, at most 2048 px, with no metadata.",
            {"200": JPEG, "404": NO_PHOTO},
            parameters=[PHOTO_ID],
        ),
    },
    "/api/v1/library/photos/{photo_id}/original": {
        "get": _operation(
            "The photo's original file, as it was added.",
            {
                "200": {
                    "description": "the original bytes",
                    "content": {"image/*": {"schema": BINARY}},
                },
                "404": NO_PHOTO,
            },
            admin=True,
            parameters=[PHOTO_ID],
        ),
    },
    "/api/v1/library/points": {
        "get": _operation(
            "The positions of the matching photos that have one, for a map, in time order, a page "
            f"at a time (up to {MAX_POINTS_PER_PAGE} points a page: fetch pages 1 to pages).",
            {
                "200": _json(
                    _object(
                        {
                            "total": INTEGER,
                            "page": INTEGER,
                            "per_page": INTEGER,
                            "pages": INTEGER,
                            "points": {
                                "type": "array",
                                "items": _object(
                                    {
                                        "id": INTEGER,
                                        "latitude": NUMBER,
                                        "longitude": NUMBER,
                                        "label": STRING,
                                    }
                                ),
                            },
                        }
                    ),
                    "one page of the positions",
                ),
                "400": BAD_FILTER,
            },
            parameters=[*LIBRARY_FILTERS, *POINTS_PAGING],
        ),
    },
    "/api/v1/library/stats": {
        "get": _operation(
            "Counts of the matching photos: per class, and per month by class.",
            {
                "200": _json(
                    _object(
                        {
                            "total": INTEGER,
                            "classes": {"type": "array", "items": STRING},
                            "per_class": {"type": "object", "additionalProperties": INTEGER},
                            "per_month": {
                                "type": "array",
                                "items": _object(
                                    {
                                        "month": STRING,
                                        "counts": {
                                            "type": "object",
                                            "additionalProperties": INTEGER,
                                        },
                                    }
                                ),
                            },
                        }
                    ),
                    "the counts",
                ),
                "400": BAD_FILTER,
            },
            parameters=LIBRARY_FILTERS,
        ),
    },
    "/api/v1/library/report": {
        "get": _operation(
            "The report of the matching photos: one self-contained HTML file (thumbnails embedded, plots, a table) that opens offline.",
            {
                "200": {
                    "description": "the report, as an attachment",
                    "content": {"text/html": {"schema": STRING}},
                },
                "400": BAD_FILTER,
            },
            parameters=LIBRARY_FILTERS,
        ),
    },
}

CORRECTION_ID = {"name": "correction_id", "in": "path", "required": True, "schema": INTEGER}
CORRECTIONS = {
    "/api/v1/feedback": {
        "post": _operation(
            "Correct a served prediction: the photo joins the answering model's project (the "
            "shipped model's: \"pets\") with source feedback, pending an admin's review. Open to "
            "all, PETCLF_CORRECTIONS_PER_HOUR per client.",
            {
                "201": _json(
                    _object({"correction": _ref("Correction"), "recorded": BOOLEAN}), "recorded"
                ),
                "200": _json(
                    _object({"correction": _ref("Correction"), "recorded": BOOLEAN}),
                    "the same correction was sent before: counted once",
                ),
                "404": _error("an unknown or expired prediction id"),
                "409": _error("the correction was reviewed already with another label"),
                "422": _error('a label that is none of the model\'s classes nor "none"'),
                "429": _error("too many corrections from this client in the last hour"),
            },
            body=_json_body(
                _object(
                    {
                        "prediction_id": {**STRING, "description": "the prediction's id"},
                        "label": {
                            **STRING,
                            "description": 'one of the model\'s classes, or "none"',
                        },
                    },
                    ("prediction_id", "label"),
                )
            ),
        ),
    },
    "/api/v1/projects/{name}/corrections": {
        "get": _operation(
            "The project's corrections in one state, with the counts per state.",
            {
                "200": _json(
                    _object(
                        {
                            "corrections": {"type": "array", "items": _ref("Correction")},
                            "counts": {"type": "object", "additionalProperties": INTEGER},
                        }
                    ),
                    "the corrections, oldest first",
                ),
                "404": NOT_FOUND,
                "422": INVALID,
            },
            admin=True,
            parameters=[
                PROJECT,
                {
                    "name": "state",
                    "in": "query",
                    "schema": {
                        "type": "string",
                        "enum": ["pending", "accepted", "rejected"],
                        "default": "pending",
                    },
                },
            ],
        ),
    },
    "/api/v1/projects/{name}/corrections/{correction_id}/image": {
        "get": _operation(
            "The corrected photo's original file.",
            {
                "200": {"description": "the photo", "content": {"image/*": {"schema": BINARY}}},
                "404": NOT_FOUND,
            },
            admin=True,
            parameters=[PROJECT, CORRECTION_ID],
        ),
    },
    "/api/v1/projects/{name}/corrections/{correction_id}/{action}": {
        "post": _operation(
            'Accept (the photo joins the corrected class, or the common pool for "none") or '
            "reject a pending correction. PETCLF_RETRAIN_AFTER accepted ones queue a retraining.",
            {
                "200": _json(_ref("Correction"), "the reviewed correction"),
                "404": NOT_FOUND,
                "409": _error("the correction was reviewed already"),
                "422": _error("an action other than accept or reject"),
            },
            admin=True,
            parameters=[
                PROJECT,
                CORRECTION_ID,
                {
                    "name": "action",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": ["accept", "reject"]},
                },
            ],
        ),
    },
}

HEATMAPS = {
    "/api/v1/predictions/{prediction_id}/heatmap.png": {
        "get": _operation(
            "Why did it say that? The photo of a served prediction, padded as the model saw it, "
            "with a Grad-CAM heat map over the places that made the model answer (or see `label`). "
            "Made by the heat-map service that `petclf worker` runs.",
            {
                "200": {
                    "description": "the overlay",
                    "content": {"image/png": {"schema": BINARY}},
                },
                "404": _error("an unknown or expired prediction id"),
                "410": _error("the model version that answered is gone (the reason in words)"),
                "422": _error("a label that is none of the model's classes"),
                "503": _error("the heat-map service is not running or did not answer in time"),
            },
            parameters=[
                {"name": "prediction_id", "in": "path", "required": True, "schema": STRING},
                {
                    "name": "label",
                    "in": "query",
                    "schema": {**STRING, "description": "a class; default: the model's answer"},
                },
            ],
        ),
    },
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "petclf",
        "version": "1",
        "description": "Photo classifiers: the shipped model, per-project classifiers anyone trains (REST v1), "
        "and the original image-analytics API. Reads and predictions are open; writes need the admin token.",
    },
    "paths": {**SHIPPED_MODEL, **REST_V1, **CORRECTIONS, **HEATMAPS, **LIBRARY, **ORIGINAL},
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "adminToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "PETCLF_ADMIN_TOKEN; pages use their session and an X-CSRF-Token header instead",
            }
        },
    },
}


@blueprint.get("/api/v1/openapi.json")
def document():
    return jsonify(DOCUMENT)
