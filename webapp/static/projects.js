// The project pages on top of the REST v1 API: photos picked or dropped into a class column go up
// in small batches with a progress bar and each file's outcome; "Train" follows the job live and can
// cancel it; "Try it" shows the top-5 bars. Without this file every form still posts to the page.
"use strict";

const BATCH_FILES = 4; // small batches: steady progress, and each request stays under the upload limit
const MULTIPART_MARGIN = 64 * 1024; // room for the multipart headers around the files
const POLL_MS = 1000;
const FINISHED = ["done", "failed", "cancelled"];

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(status === 401 ? "Your login has expired; log in again." : error.message || `The server answered ${status}.`);
    this.status = status;
    this.body = body || {};
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch (error) {
    return null;
  }
}

// One API call: the JSON answer, or an ApiError carrying the server's message.
// `body` is a FormData (sent as multipart) or a plain object (sent as JSON).
async function api(method, url, body) {
  const headers = { "X-CSRF-Token": csrfToken(), Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new ApiError(0, { error: { message: "The server can't be reached; check the connection and try again." } });
  }
  const answer = parseJson(await response.text());
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

// A multipart POST through XHR, for the upload.onprogress that fetch lacks. Resolves with the
// status and JSON body whatever the status: a 422 still lists every file's outcome.
function postWithProgress(url, data, onProgress) {
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.setRequestHeader("X-CSRF-Token", csrfToken());
    request.setRequestHeader("Accept", "application/json");
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => resolve({ status: request.status, body: parseJson(request.responseText) });
    request.onerror = () => resolve({ status: 0, body: null });
    request.send(data);
  });
}

function element(tag, className, text) {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  return made;
}

function megabytes(bytes) {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
}

// Files in batches of a few, each batch under the request limit; files over it on their own are refused here.
function batchesOf(files, maxBytes) {
  const limit = maxBytes - MULTIPART_MARGIN;
  const batches = [];
  const tooLarge = [];
  let batch = [];
  let bytes = 0;
  for (const file of files) {
    if (file.size > limit) {
      tooLarge.push(file);
      continue;
    }
    if (batch.length === BATCH_FILES || bytes + file.size > limit) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(file);
    bytes += file.size;
  }
  if (batch.length) batches.push(batch);
  return { batches, tooLarge };
}

// What a person needs to hear about one file: rejected with the reason, a duplicate, or a look-alike.
function outcomeLine(outcome) {
  if (outcome.status === "rejected") return element("li", "rejected", `${outcome.name}: ${outcome.reason}`);
  if (outcome.status === "duplicate") return element("li", "duplicate", `${outcome.name}: ${outcome.reason}`);
  if (outcome.near_duplicates && outcome.near_duplicates.length) {
    return element("li", "near", `${outcome.name} looks very like ${outcome.near_duplicates.join(", ")}.`);
  }
  return null;
}

function summaryText(totals) {
  return `${totals.stored} stored, ${totals.duplicate} duplicate, ${totals.rejected} rejected.`;
}

// ---- Photos: class columns and the common pool ----

function setCounts(container, sides) {
  for (const side of ["train", "test"]) {
    const count = container.querySelector(`[data-count="${side}"]`);
    if (count) count.textContent = sides[side];
  }
}

function showWarnings(warnings) {
  const list = document.getElementById("warnings");
  if (!list) return;
  list.replaceChildren(...warnings.map((warning) => element("li", "", warning)));
  list.hidden = warnings.length === 0;
}

// A column for a class the server knows and the page doesn't yet (a "new class" upload made it).
function addColumn(label) {
  const template = document.getElementById("column-template");
  const column = template.content.firstElementChild.cloneNode(true);
  column.dataset.class = label;
  column.querySelector(".column-name").textContent = label;
  column.querySelector('input[name="class"]').value = label;
  const newClass = document.getElementById("new-class");
  newClass.parentNode.insertBefore(column, newClass);
  setUpPhotoForm(column.querySelector(".photo-form"));
  return column;
}

// Counts, warnings and columns as the server has them now.
async function refreshCounts(form) {
  const project = document.getElementById("project");
  if (!project) {
    const pool = form.closest(".pool");
    const answer = await api("GET", pool.dataset.api);
    setCounts(pool, answer.pool);
    return;
  }
  const answer = await api("GET", project.dataset.api);
  for (const [label, sides] of Object.entries(answer.classes)) {
    const column = document.querySelector(`.column[data-class="${CSS.escape(label)}"]`) || addColumn(label);
    setCounts(column, sides);
  }
  showWarnings(answer.warnings);
}

async function uploadPhotos(form, files) {
  const nameField = form.querySelector('input[name="class"]');
  const progress = form.querySelector(".upload-progress");
  const status = form.querySelector(".upload-status");
  const outcomes = form.querySelector(".outcomes");
  const label = nameField ? nameField.value.trim() : null;
  if (nameField && !label) {
    status.textContent = "Give the new class a name first.";
    nameField.focus();
    return;
  }
  const maxBytes = Number(form.dataset.maxBytes);
  const { batches, tooLarge } = batchesOf(Array.from(files), maxBytes);
  const totals = { stored: 0, duplicate: 0, rejected: tooLarge.length };
  outcomes.replaceChildren(
    ...tooLarge.map((file) => element("li", "rejected", `${file.name}: larger than the ${megabytes(maxBytes)} upload limit.`))
  );
  const totalBytes = batches.flat().reduce((sum, file) => sum + file.size, 0) || 1;
  let sentBytes = 0;
  progress.value = 0;
  progress.hidden = false;
  status.textContent = `Uploading ${files.length} photo${files.length === 1 ? "" : "s"}…`;
  for (const batch of batches) {
    const batchBytes = batch.reduce((sum, file) => sum + file.size, 0);
    const data = new FormData();
    if (label !== null) data.append("class", label);
    batch.forEach((file) => data.append("file", file, file.name));
    const answer = await postWithProgress(form.dataset.api, data, (fraction) => {
      progress.value = (sentBytes + fraction * batchBytes) / totalBytes;
    });
    sentBytes += batchBytes;
    progress.value = sentBytes / totalBytes;
    const results = (answer.body && answer.body.results) || [];
    for (const outcome of results) {
      totals[outcome.status] += 1;
      const line = outcomeLine(outcome);
      if (line) outcomes.append(line);
    }
    if (results.length === 0) {
      // Nothing was looked at (login expired, project gone, request too large): stop here.
      status.textContent = new ApiError(answer.status, answer.body).message;
      progress.hidden = true;
      return;
    }
  }
  progress.hidden = true;
  // The summary waits for the counts, so the two never disagree on the page.
  try {
    await refreshCounts(form);
    if (nameField && totals.stored) nameField.value = "";
    status.textContent = summaryText(totals);
  } catch (error) {
    status.textContent = `${summaryText(totals)} ${error.message}`;
  }
}

function setUpPhotoForm(form) {
  const input = form.querySelector('input[type="file"]');
  const zone = form.closest(".column, .pool") || form;
  input.addEventListener("change", () => {
    if (input.files.length) uploadPhotos(form, input.files).finally(() => (input.value = ""));
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.files.length) uploadPhotos(form, input.files);
  });
  ["dragenter", "dragover"].forEach((type) =>
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("dragging");
    })
  );
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("dragging")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) uploadPhotos(form, event.dataTransfer.files);
  });
}

// ---- Training: start, follow, cancel ----

function describeJob(job) {
  if (job.state === "queued") return "Waiting for a worker…";
  if (job.state === "done") return job.message || "Done.";
  if (job.state === "failed") return `Training failed: ${job.error || job.message}`;
  if (job.state === "cancelled") return "Training cancelled.";
  const stopping = job.cancel_requested ? " Stopping…" : "";
  return `Training: ${job.phase || "starting"}, step ${job.step} of ${job.total}.${stopping}`;
}

function jobDetails(job) {
  const parts = [];
  if (job.state === "running" && job.eta_seconds !== null) parts.push(`about ${Math.ceil(job.eta_seconds)} s left in this phase`);
  for (const [name, value] of Object.entries(job.metrics || {})) parts.push(`${name.replace(/_/g, " ")} ${value.toFixed(3)}`);
  return parts.join(" · ");
}

function setUpTraining(project) {
  const section = document.getElementById("training");
  const box = document.getElementById("job");
  const bar = document.getElementById("job-progress");
  const status = document.getElementById("job-status");
  const details = document.getElementById("job-details");
  const problem = document.getElementById("train-error");
  const trainForm = document.getElementById("train-form");
  const cancelForm = document.getElementById("cancel-form");
  let jobId = section.dataset.job;

  function showProblem(message) {
    problem.textContent = message;
    problem.hidden = !message;
  }

  function show(job) {
    box.hidden = false;
    bar.max = Math.max(job.total, 1);
    bar.value = job.state === "done" ? bar.max : Math.min(job.step, bar.max);
    status.textContent = describeJob(job);
    details.textContent = jobDetails(job);
    const finished = FINISHED.includes(job.state);
    if (trainForm) trainForm.querySelector("button").disabled = !finished;
    if (cancelForm) cancelForm.hidden = finished;
  }

  async function follow() {
    let job;
    try {
      job = await api("GET", `${project.dataset.jobsApi}/${encodeURIComponent(jobId)}`);
    } catch (error) {
      status.textContent = error.message;
      setTimeout(follow, POLL_MS);
      return;
    }
    show(job);
    if (job.state === "done") {
      window.location.reload(); // the page renders the new version's results
    } else if (!FINISHED.includes(job.state)) {
      setTimeout(follow, POLL_MS);
    }
  }

  if (trainForm) {
    trainForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      showProblem("");
      try {
        const answer = await api("POST", `${project.dataset.api}/train`, { forceful: true });
        jobId = answer.job.id;
        show(answer.job);
      } catch (error) {
        if (!error.body.job_id) {
          showProblem(error.message);
          return;
        }
        jobId = error.body.job_id; // training already: follow that job
      }
      follow();
    });
  }
  if (cancelForm) {
    cancelForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!jobId) return;
      try {
        show(await api("DELETE", `${project.dataset.jobsApi}/${encodeURIComponent(jobId)}`));
      } catch (error) {
        showProblem(error.message);
      }
    });
  }
  if (jobId) follow();
}

// ---- Versions ----

function setUpVersions(project) {
  document.querySelectorAll(".activate-form").forEach((form) =>
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const number = form.closest("[data-version]").dataset.version;
      try {
        await api("POST", `${project.dataset.api}/versions/${number}/activate`);
        window.location.reload();
      } catch (error) {
        form.append(element("span", "error", error.message));
      }
    })
  );
}

// ---- Try it ----

function bars(prediction) {
  const verdict = prediction.unknown
    ? element("p", "verdict unknown", "This looks like none of the classes.")
    : element("p", "verdict", `It's ${prediction.label}.`);
  verdict.id = "try-verdict";
  const list = element("ol", "bars");
  list.id = "try-bars";
  for (const { label, proba } of prediction.predictions) {
    const percent = `${(proba * 100).toFixed(1)}%`;
    const bar = element("li", "bar");
    bar.dataset.label = label;
    bar.dataset.proba = proba.toFixed(4);
    const meter = element("progress", "", percent);
    meter.max = 100;
    meter.value = proba * 100;
    bar.append(element("span", "bar-label", label), meter, element("span", "bar-value", percent));
    list.append(bar);
  }
  return [verdict, list];
}

// "Wrong? It's a …": a button per class and "none of these", sending POST /api/v1/feedback.
function correction(prediction, form) {
  const box = element("p", "correction", "Wrong? It's a … ");
  box.id = "try-correction";
  const choices = [...JSON.parse(form.dataset.labels), "none"];
  for (const label of choices) {
    const button = element("button", "secondary", label === "none" ? "none of these" : label);
    button.type = "button";
    button.addEventListener("click", async () => {
      try {
        await api("POST", form.dataset.feedback, { prediction_id: prediction.id, label });
        const said = label === "none" ? "none of these" : label;
        box.replaceChildren(`Thanks! Recorded: ${said}. It joins the photos once an admin accepts it.`);
      } catch (error) {
        box.replaceChildren(element("span", "error", error.message));
      }
    });
    box.append(button);
  }
  return box;
}

function setUpTryIt() {
  const form = document.getElementById("try-form");
  if (!form) return;
  const input = document.getElementById("try-file");
  const preview = document.getElementById("try-preview");
  const result = document.getElementById("try-result");
  const problem = document.getElementById("try-error");
  const button = document.getElementById("try-submit");
  let previewUrl = null;

  async function tryIt() {
    const file = input.files[0];
    if (!file) {
      problem.textContent = "Choose a photo first.";
      problem.hidden = false;
      return;
    }
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.hidden = false;
    problem.hidden = true;
    button.disabled = true;
    const data = new FormData();
    data.append("file", file, file.name);
    try {
      const prediction = await api("POST", form.dataset.api, data);
      result.replaceChildren(...bars(prediction), correction(prediction, form));
    } catch (error) {
      result.replaceChildren();
      problem.textContent = error.message;
      problem.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  input.addEventListener("change", tryIt);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    tryIt();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".photo-form").forEach(setUpPhotoForm);
  const project = document.getElementById("project");
  if (!project) return;
  setUpTraining(project);
  setUpVersions(project);
  setUpTryIt();
});
