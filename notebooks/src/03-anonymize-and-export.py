# %% [markdown]
# # Anonymize and export a cohort
#
# Select a cohort, anonymize it on the server, check the result frame,
# download the copies as DICOM files, ZIP archives and NIfTI volumes, verify
# the files, and send the cohort to a second Orthanc.

# %%
import io
import zipfile
from pathlib import Path

import matplotlib.pyplot as plt
import nibabel
import pydicom

import orthanc_frames as of
from orthanc_frames.demo import connect

c = connect()
f = c.frames()

# %%
cohort = f.series.query("Modality == 'MR' and BodyPartExamined == 'HEAD'")
cohort[["SeriesDescription", "num_instances"]]

# %% [markdown]
# ## Anonymize
#
# One row per source series: the `status`, an `error` if any, and the
# `new_id` of the anonymized copy. The originals stay (`keep_source=True`).
# Orthanc's default profile removes descriptions; `keep` keeps the ones we
# want to read later.

# %%
result = cohort.orthanc.anonymize(
    replace={"PatientName": "Anonymous^Head-MR"}, keep=["StudyDescription", "SeriesDescription"]
)
result

# %%
assert (result["status"] == "ok").all()

# %% [markdown]
# The copies are on the server: `refresh()` brings them into the frames.

# %%
f.refresh()
anonymized = f.series.loc[result["new_id"]]
f.flat("series").loc[anonymized.index, ["PatientName", "PatientID", "SeriesDescription"]]

# %%
anonymized_flat = f.flat("series").loc[anonymized.index]
assert set(anonymized_flat["PatientName"]) == {"Anonymous^Head-MR"}
assert sorted(anonymized_flat["SeriesDescription"]) == sorted(cohort["SeriesDescription"])

# %% [markdown]
# A preview grid: Orthanc renders every image as PNG.

# %%
images = f.instances[f.instances["series"].isin(anonymized.index)].sort_values(["series", "index_in_series"])
fig, axes = plt.subplots(len(anonymized), 4, figsize=(6, 1.7 * len(anonymized)), squeeze=False)
for row, (series_id, series_images) in zip(axes, images.groupby("series")):
    row[0].set_title(anonymized.loc[series_id, "SeriesDescription"], loc="left", fontsize=9)
    for ax, instance in zip(row, series_images.index):
        ax.imshow(plt.imread(io.BytesIO(c.get_instances_id_preview(instance)), format="png"), cmap="gray")
for ax in axes.flat:
    ax.axis("off")

# %% [markdown]
# ## Download: DICOM files, ZIP archives, NIfTI volumes

# %%
anonymized.orthanc.download("export/dicom")

# %%
files = sorted(Path("export/dicom").rglob("*.dcm"))
datasets = [pydicom.dcmread(path) for path in files]
assert len(files) == anonymized["num_instances"].sum()
assert {str(ds.PatientName) for ds in datasets} == {"Anonymous^Head-MR"}
assert not set(ds.PatientID for ds in datasets) & set(f.patients["PatientID"].loc[cohort["patient"]])
len(files), datasets[0].PatientName, datasets[0].PatientIdentityRemoved

# %%
anonymized.orthanc.download("export/zip", format="zip")
archives = sorted(Path("export/zip").rglob("*.zip"))
assert len(archives) == len(anonymized)
[(archive.name, len(zipfile.ZipFile(archive).namelist())) for archive in archives]

# %%
anonymized.orthanc.download("export/nifti", format="nifti")
volumes = sorted(Path("export/nifti").rglob("*.nii*"))
assert len(volumes) == len(anonymized)
[(volume.name, nibabel.load(volume).shape) for volume in volumes]

# %% [markdown]
# ## Send to a second Orthanc
#
# Here the second server is a throw-away local Orthanc, declared as a peer of
# the first one; a real PACS would be a modality (`send(modality="PACS")`).

# %%
from orthanc_frames.local_server import LocalOrthanc

backup = LocalOrthanc(name="BACKUP").start()
c.PUT("/peers/backup", json={"Url": backup.url, "Username": backup.username, "Password": backup.password})
anonymized.orthanc.send(peer="backup")

# %%
backup_client = of.Orthanc(backup.url, username=backup.username, password=backup.password)
on_backup = backup_client.frames()
assert set(on_backup.series.index) == set(anonymized.index)
on_backup.flat("series")[["PatientName", "SeriesDescription", "num_instances"]]

# %% [markdown]
# ## Clean up
#
# Deleting is guarded: without `confirm=True` nothing happens.

# %% tags=["raises-exception"]
anonymized.orthanc.delete()

# %%
anonymized.orthanc.delete(confirm=True)

# %%
c.DELETE("/peers/backup")
backup_client.close()
backup.stop()
