# %% [markdown]
# # Quickstart: an Orthanc server as four pandas DataFrames
#
# `orthanc-frames` loads the patients, studies, series and instances of an
# Orthanc server into four linked pandas DataFrames. A cohort is then a pandas
# expression, and the `.orthanc` accessor acts on whatever rows you selected.
#
# This notebook connects, loads the frames, looks at each level, picks a
# cohort and acts on it.

# %% [markdown]
# ## Connect
#
# `connect()` uses the server named by `ORTHANC_URL` (with `ORTHANC_USERNAME` /
# `ORTHANC_PASSWORD`) when it is set, as on Binder; otherwise it starts a
# throw-away local Orthanc holding a synthetic cohort. For your own server:
#
# ```python
# c = of.Orthanc("https://pacs.example.org", username="me", password="...")
# c = of.Orthanc.from_env()      # the same, from ORTHANC_URL, ORTHANC_USERNAME, ...
# ```

# %%
import orthanc_frames as of
from orthanc_frames.demo import connect

c = connect()
c.capabilities

# %% [markdown]
# ## Load the frames
#
# One call. The number of HTTP requests grows with the number of pages of
# results, not with the number of resources.

# %%
f = c.frames()
f

# %% [markdown]
# ## Each level
#
# The index is the Orthanc ID, named by its level. DICOM tags are columns named
# by keyword and typed by their VR (dates are dates, numbers are numbers);
# Orthanc's own fields are `snake_case`. Link columns name the parents.

# %%
f.patients.head()

# %%
f.studies[["patient", "StudyDate", "StudyDescription", "num_series"]].head()

# %%
f.series[["study", "Modality", "SeriesDescription", "num_instances"]].head()

# %%
f.instances[["series", "InstanceNumber", "file_size"]].head()

# %%
f.studies.dtypes.head(8)

# %% [markdown]
# Values that do not parse (here, a birth date of 13/99) become missing and are
# listed, never dropped silently:

# %%
f.problems

# %% [markdown]
# ## A cohort is a pandas expression
#
# The CT series of the studies made since 2021, with their study and patient
# columns (`flat`):

# %%
import datetime

series = f.flat("series")
cohort = series[(series["Modality"] == "CT") & (series["StudyDate"] >= datetime.date(2021, 1, 1))]
cohort[["PatientName", "StudyDate", "SeriesDescription", "num_instances"]]

# %%
assert len(cohort) > 0 and set(cohort["Modality"]) == {"CT"}

# %% [markdown]
# ## Act on it
#
# `cohort.orthanc` maps the rows back to server resources. Every action
# returns one row per resource, with its `status` and `error`; one failure
# never hides the others.

# %%
result = cohort.orthanc.add_label("quickstart")
result

# %%
assert (result["status"] == "ok").all()

# %% [markdown]
# The label is on the server: a filter given to `c.frames` runs there.

# %%
labelled = c.frames(labels=["quickstart"], labels_level="series")
labelled.series[["Modality", "SeriesDescription", "labels"]]

# %%
assert set(labelled.series.index) == set(cohort.index)
cohort.orthanc.remove_label("quickstart");

# %% [markdown]
# Next: [02-cohort-filtering](02-cohort-filtering.ipynb) asks real cohort
# questions, [03-anonymize-and-export](03-anonymize-and-export.ipynb) anonymizes
# and downloads, [04-browse](04-browse.ipynb) does it with widgets, and
# [05-from-folder](05-from-folder.ipynb) compares local files with the server.
