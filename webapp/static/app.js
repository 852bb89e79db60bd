// Progressive enhancement of the upload form: drag and drop, paste, preview, size check.
// Without this file the plain form still works.
"use strict";

document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload");
  if (!form) return;
  const input = document.getElementById("file");
  const drop = document.getElementById("drop");
  const preview = document.getElementById("preview");
  const problem = document.getElementById("client-error");
  const submit = document.getElementById("submit");
  const maxBytes = Number(form.dataset.maxBytes);
  let previewUrl = null;

  function showProblem(message) {
    problem.textContent = message;
    problem.hidden = !message;
  }

  function useFiles(files) {
    if (!files || files.length === 0) return;
    try {
      const transfer = new DataTransfer();
      transfer.items.add(files[0]);
      input.files = transfer.files;
    } catch (error) {
      // Older browsers can't set a file input's files; the picker still works there.
      showProblem("This browser can't take a dropped or pasted photo; use “Choose a photo” instead.");
      return;
    }
    showPreview();
  }

  function showPreview() {
    const file = input.files[0];
    showProblem("");
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    preview.hidden = true;
    if (!file) return;
    if (file.size > maxBytes) {
      showProblem(`This photo is larger than the ${form.dataset.maxMb} MB limit; choose a smaller one.`);
      return;
    }
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.alt = "Preview of the photo to classify";
    preview.hidden = false;
  }

  input.addEventListener("change", showPreview);
  // Coming back with the Back button must not leave the form stuck on "Classifying…".
  window.addEventListener("pageshow", () => {
    submit.disabled = false;
    submit.textContent = "Classify";
  });

  ["dragenter", "dragover"].forEach((type) =>
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("dragging");
    })
  );
  ["dragleave", "drop"].forEach((type) =>
    drop.addEventListener(type, () => drop.classList.remove("dragging"))
  );
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    useFiles(event.dataTransfer.files);
  });

  document.addEventListener("paste", (event) => {
    const items = Array.from(event.clipboardData ? event.clipboardData.items : []);
    const image = items.find((item) => item.kind === "file" && item.type.startsWith("image/"));
    if (image) {
      event.preventDefault();
      useFiles([image.getAsFile()]);
    }
  });

  form.addEventListener("submit", (event) => {
    const file = input.files[0];
    if (!file) {
      event.preventDefault();
      showProblem("Choose a photo first.");
      return;
    }
    if (file.size > maxBytes) {
      event.preventDefault();
      showPreview();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Classifying…";
  });
});
