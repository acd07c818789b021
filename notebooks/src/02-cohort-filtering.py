# %% [markdown]
# # Cohort filtering: questions as pandas expressions
#
# Filters given to `c.frames(...)` run on the server; everything after that is
# pandas. This notebook asks the questions a cohort study asks: dates,
# modalities, descriptions, counts, labels, a tag beyond Orthanc's main tags,
# and walks up and down the links between the four frames.

# %%
import datetime

import pandas as pd

import orthanc_frames as of
from orthanc_frames.demo import connect

c = connect()

# %% [markdown]
# `SliceThickness` is not one of the tags Orthanc keeps in its index: asking
# for it makes the server read one file per series (a warning says so).

# %%
f = c.frames(tags={"series": ["SliceThickness"]})
f

# %% [markdown]
# ## When: series per year and modality

# %%
series = f.flat("series")
year = pd.to_datetime(series["StudyDate"].astype("datetime64[s]")).dt.year.rename("year")
per_year = series.groupby([year, "Modality"]).size().unstack(fill_value=0)
ax = per_year.plot.bar(stacked=True, figsize=(6, 2.5), title="series per year of study", rot=0)
ax.set_ylabel("series");

# %%
recent = f.studies[f.studies["StudyDate"] >= datetime.date(2021, 1, 1)]
recent[["StudyDate", "StudyDescription", "InstitutionName"]]

# %% [markdown]
# ## What: modalities, descriptions, slice thickness

# %%
ax = f.series["Modality"].value_counts().plot.barh(figsize=(5, 1.5), title="series per modality")
ax.set_xlabel("series");

# %%
thin_ct = f.series.query("Modality == 'CT' and SliceThickness <= 1.5")
thin_ct[["SeriesDescription", "SliceThickness", "num_instances"]]

# %%
assert (thin_ct["SliceThickness"] <= 1.5).all() and len(thin_ct) > 0

# %%
head = f.series[f.series["SeriesDescription"].str.contains("head", case=False)]
head[["Modality", "SeriesDescription"]]

# %% [markdown]
# A value that does not parse is missing in the frame and listed in
# `f.problems`, with the raw text:

# %%
f.problems

# %% [markdown]
# ## Counts per study, and studies that have both CT and MR

# %%
modalities_per_study = f.series.groupby("study")["Modality"].agg(lambda m: "+".join(sorted(set(m))))
f.studies.assign(modalities=modalities_per_study)[["StudyDescription", "num_series", "modalities"]]

# %%
ct_and_mr = modalities_per_study[modalities_per_study == "CT+MR"].index
len(ct_and_mr), len(f.studies)

# %% [markdown]
# ## Age at the time of the study
#
# Dates are dates: subtracting them gives durations. The patient whose birth
# date did not parse gets no age.

# %%
studies = f.flat("study")
age = (
    pd.to_datetime(studies["StudyDate"].astype("datetime64[s]"))
    - pd.to_datetime(studies["PatientBirthDate"].astype("datetime64[s]"))
).dt.days // 365
studies.assign(age=age)[["PatientName", "StudyDate", "age"]].sort_values("age")

# %% [markdown]
# ## Walking the links
#
# Up: the link columns of a selection index its parents. Down: the children
# whose link column is in the selection's index.

# %%
patients_of_thin_ct = f.patients.loc[thin_ct["patient"].unique()]
patients_of_thin_ct[["PatientName", "PatientSex"]]

# %%
images_of_thin_ct = f.instances[f.instances["series"].isin(thin_ct.index)]
images_of_thin_ct.groupby("series").size()

# %%
assert images_of_thin_ct.groupby("series").size().to_dict() == thin_ct["num_instances"].to_dict()

# %% [markdown]
# `flat(level)` joins the parents' columns onto one level, keeping its index:

# %%
f.flat("series")[["PatientName", "StudyDate", "Modality", "SeriesDescription"]].head()

# %% [markdown]
# ## Labels
#
# Label the thin-slice CT studies on the server, then use the label as a
# server-side filter, and in pandas.

# %%
thin_ct_studies = f.studies.loc[thin_ct["study"].unique()]
thin_ct_studies.orthanc.add_label("thin-ct")

# %%
with_label = c.frames(labels=["thin-ct"], levels=("patient", "study", "series"))
assert set(with_label.studies.index) == set(thin_ct_studies.index)
with_label.studies[["StudyDescription", "labels"]]

# %% [markdown]
# ## The frames follow the server: `refresh()`
#
# Only what changed on the server since the load is read again.

# %%
f.refresh()
labelled = f.studies[f.studies["labels"].map(lambda labels: "thin-ct" in labels)]
assert set(labelled.index) == set(thin_ct_studies.index)
labelled[["StudyDescription", "labels"]]

# %% [markdown]
# ## Save a cohort to Parquet, read it back
#
# Parquet keeps every type (dates, lists, nullable integers). The frames read
# back are linked to the server again when given a client, so `.orthanc`
# acts on them. DuckDB, Polars or
# Dask read the same files.

# %%
cohort = c.frames(query={"Modality": "CT", "StudyDate": "20200101-"})
cohort.to_parquet("ct-since-2020")
again = of.Frames.read_parquet("ct-since-2020", client=c)
pd.testing.assert_frame_equal(again.series, cohort.series)
again.series[["Modality", "SeriesDescription"]].head()

# %%
again.series.orthanc.resources()[:3]

# %% [markdown]
# Leave the server as it was:

# %%
thin_ct_studies.orthanc.remove_label("thin-ct")
f.refresh()
assert not f.studies["labels"].map(len).any()
