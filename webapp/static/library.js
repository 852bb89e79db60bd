// The library pages: an offline map (Natural Earth land outlines, the photos as clustered markers,
// a point and radius to filter by, set by clicking the map or typing coordinates), a photo's pin,
// and the upload form following a queued ingest job. Without this file the filters and the upload
// still work as plain forms.
"use strict";

const POLL_MS = 1000;
const FINISHED = ["done", "failed", "cancelled"];
const DEFAULT_RADIUS_KM = 10;
const WORLD = [[-60, -170], [75, 170]];
const COORDINATES = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/;

// A map with no tiles: the sea is the container's background, the land a GeoJSON layer.
function offlineMap(element) {
  const map = L.map(element, { worldCopyJump: true, minZoom: 1, maxZoom: 18 });
  map.attributionControl.setPrefix("Leaflet");
  map.attributionControl.addAttribution("Land: Natural Earth");
  map.fitBounds(WORLD);
  fetch(element.dataset.land, { credentials: "same-origin" })
    .then((response) => response.json())
    .then((land) => L.geoJSON(land, { interactive: false, className: "land" }).addTo(map).bringToBack())
    .catch(() => element.classList.add("no-land"));
  return map;
}

// Addresses from the page's templates: "…/photos/{id}", "…/photos/{id}/thumbnail".
function address(template, id) {
  return template.replace("{id}", encodeURIComponent(id));
}

function photoPopup(point, element) {
  const link = document.createElement("a");
  link.href = address(element.dataset.photoPage, point.id);
  link.className = "map-popup";
  const thumbnail = document.createElement("img");
  thumbnail.src = address(element.dataset.thumbnail, point.id);
  thumbnail.alt = point.label || "photo";
  const caption = document.createElement("span");
  caption.textContent = [point.label, point.taken_at && point.taken_at.slice(0, 10)].filter(Boolean).join(" · ");
  link.append(thumbnail, caption);
  return link;
}

// The photos matching the page's filters, clustered, page after page of points; the view fits them
// once they have all arrived.
function showPhotos(map, element) {
  const cluster = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false });
  map.addLayer(cluster);
  let shown = 0;
  function load(page) {
    const url = new URL(element.dataset.points, window.location.href);
    url.searchParams.set("page", String(page));
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((answer) => {
        const markers = answer.points.map((point) =>
          L.marker([point.latitude, point.longitude], { title: point.label || "" })
            .bindPopup(() => photoPopup(point, element), { minWidth: 120 })
        );
        cluster.addLayers(markers);
        shown += markers.length;
        if (answer.page < answer.pages) return load(answer.page + 1);
        element.dataset.markers = String(shown);
        if (shown && !element.dataset.keepView) map.fitBounds(cluster.getBounds(), { maxZoom: 12, padding: [20, 20] });
      });
  }
  load(1).catch(() => element.classList.add("no-points"));
}

// The radius filter: a click on the map or typed coordinates set the point; the circle follows both fields.
function radiusPicker(map, near, withinKm) {
  let circle = null;
  function draw() {
    const match = COORDINATES.exec(near.value);
    const km = Number(withinKm.value);
    if (circle) circle.remove();
    circle = null;
    if (!match || !(km > 0)) return;
    const center = [Number(match[1]), Number(match[2])];
    if (Math.abs(center[0]) > 90 || Math.abs(center[1]) > 180) return;
    circle = L.circle(center, { radius: km * 1000, className: "radius", interactive: false }).addTo(map);
    return circle;
  }
  map.on("click", (event) => {
    const point = event.latlng.wrap();
    near.value = `${point.lat.toFixed(5)},${point.lng.toFixed(5)}`;
    if (!withinKm.value) withinKm.value = String(DEFAULT_RADIUS_KM);
    draw();
  });
  [near, withinKm].forEach((field) => field.addEventListener("input", draw));
  const shown = draw();
  if (shown) {
    map.getContainer().dataset.keepView = "1";
    map.fitBounds(shown.getBounds(), { maxZoom: 14 });
  }
}

function setUpLibraryMap() {
  const element = document.getElementById("library-map");
  if (!element) return;
  const map = offlineMap(element);
  showPhotos(map, element);
  const near = document.getElementById("near");
  const withinKm = document.getElementById("within_km");
  if (near && withinKm) radiusPicker(map, near, withinKm);
}

function setUpPhotoMap() {
  const element = document.getElementById("photo-map");
  if (!element) return;
  const map = offlineMap(element);
  const spot = [Number(element.dataset.latitude), Number(element.dataset.longitude)];
  L.marker(spot, { title: element.dataset.place || "" }).addTo(map);
  map.setView(spot, 5);
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

async function readJson(response) {
  try {
    return await response.json();
  } catch (error) {
    return {};
  }
}

function describe(outcome) {
  const item = document.createElement("li");
  item.className = outcome.status;
  item.textContent = `${outcome.name}: ${outcome.reason || outcome.status.replace("_", " ")}`;
  return item;
}

// The upload: a few photos answer at once; more are queued as a job, followed here until it ends.
function setUpUpload() {
  const form = document.getElementById("library-upload");
  if (!form) return;
  const input = form.querySelector('input[type="file"]');
  const status = document.getElementById("upload-status");
  const bar = document.getElementById("ingest-progress");
  const outcomes = document.getElementById("upload-outcomes");
  const button = form.querySelector('button[type="submit"]');

  function say(message, failed) {
    status.textContent = message;
    status.classList.toggle("error", Boolean(failed));
  }

  // `results` are outcomes ({name, status, reason}); `counts` are {status: photos}.
  function showResults(results, counts) {
    outcomes.replaceChildren(...(results || []).map(describe));
    const told = Object.entries(counts || {}).filter(([, count]) => count > 0);
    say(told.map(([name, count]) => `${count} ${name.replace("_", " ")}`).join(", ") + ".");
  }

  async function follow(job) {
    bar.hidden = false;
    for (;;) {
      bar.max = Math.max(job.total, 1);
      bar.value = job.step;
      say(job.state === "queued" ? "Queued; waiting for a worker…" : `Adding photos: ${job.step} of ${job.total} done.`);
      if (FINISHED.includes(job.state)) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const response = await fetch(`${form.dataset.jobs}/${encodeURIComponent(job.id)}`, { credentials: "same-origin" });
      if (!response.ok) return say("The job can't be read any more; reload the page.", true);
      job = await response.json();
    }
    if (job.state === "done") showResults(job.result.outcomes, job.result.counts);
    else say(job.error || `The job was ${job.state}.`, true);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const size = Array.from(input.files).reduce((sum, file) => sum + file.size, 0);
    if (size > Number(form.dataset.maxBytes)) {
      say(`These photos add up to more than the ${form.dataset.maxMb} MB an upload may hold; send fewer at a time.`, true);
      return;
    }
    button.disabled = true;
    outcomes.replaceChildren();
    say("Uploading…");
    try {
      const response = await fetch(form.dataset.api, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
      });
      const answer = await readJson(response);
      if (response.status === 202) await follow(answer.job);
      else {
        showResults(answer.results, answer.summary);
        if (!response.ok) say((answer.error && answer.error.message) || `The server answered ${response.status}.`, true);
      }
    } catch (error) {
      say("The server can't be reached; check the connection and try again.", true);
    } finally {
      button.disabled = false;
    }
  });

  if (form.dataset.job) follow({ id: form.dataset.job, state: "queued", step: 0, total: 0 });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpLibraryMap();
  setUpPhotoMap();
  setUpUpload();
});
