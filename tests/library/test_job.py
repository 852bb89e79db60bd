"""A large upload queued as a `library_ingest` job and run by a real `petclf worker`."""

from jobs.runner import job_log_path
from library import queue_uploads
from library.uploads import incoming_folder
from projects import service
from store import Job, LibraryPhoto, session
from tests.library.exifgen import make_exif, photo
from tests.projects.helpers import start_worker, wait_for_job, wait_until


def test_a_queued_upload_is_ingested_by_the_worker_with_progress(library_home):
    files = [
        (f"photo{n}.jpg", photo("dog", n, exif=make_exif(taken=f"2015:0{n + 1}:01 09:00:00")))
        for n in range(5)
    ]
    files += [("copy.jpg", files[0][1]), ("broken.jpg", b"\xff\xd8\xff not an image")]
    job_id = queue_uploads(files, shared=True)
    assert sorted(p.name for p in incoming_folder(job_id).iterdir()) == [str(n) for n in range(7)]

    with start_worker(library_home):
        job = wait_for_job(job_id, timeout=300)
    assert job["state"] == "done", (job, job_log_path(job_id).read_text(errors="replace")[-3000:])
    assert job["result"]["counts"] == {"added": 5, "duplicate": 1, "damaged": 1}
    listed = {outcome["name"]: outcome["status"] for outcome in job["result"]["outcomes"]}
    assert listed["copy.jpg"] == "duplicate" and listed["broken.jpg"] == "damaged"
    assert (job["step"], job["total"]) == (7, 7)
    with session() as db:
        photos = db.query(LibraryPhoto).order_by(LibraryPhoto.taken_at).all()
    assert [p.original_name for p in photos] == [f"photo{n}.jpg" for n in range(5)]
    assert all(
        p.shared and p.source_path is None and p.date_source == "DateTimeOriginal" for p in photos
    )
    assert not incoming_folder(job_id).exists()


def test_an_upload_cancelled_before_a_worker_took_it_leaves_no_staged_files(library_home):
    job_id = queue_uploads([(f"photo{n}.jpg", photo("cat", n)) for n in range(2)])
    with session() as db:
        service.cancel(db, db.get(Job, job_id))
    assert incoming_folder(job_id).exists()

    with start_worker(library_home):
        wait_until(lambda: not incoming_folder(job_id).exists(), 120, "the staged files removed")
    with session() as db:
        assert db.get(Job, job_id).state == "cancelled"
        assert db.query(LibraryPhoto).count() == 0
