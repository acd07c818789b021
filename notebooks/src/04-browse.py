# %% [markdown]
# # Browse with widgets, continue in code
#
# `of.browse(f)` opens a browser: filters (free text, modality, date range,
# labels), linked patient → study → series tables, a preview of the picked
# series, the tags of an image, and an action bar (label, anonymize,
# download) with a progress bar and a result table.
#
# Whatever you pick is `browser.selection`: a linked DataFrame, so code goes
# on from what a person chose.

# %%
import orthanc_frames as of
from orthanc_frames.demo import connect
from orthanc_frames.widgets import FilterState

c = connect()
f = c.frames()
browser = of.browse(f)
browser

# %% [markdown]
# Click around above. For this notebook to run unattended, the next cell does
# what a person would do with the mouse: filter on MR series whose names
# mention "head", and pick the first series in the table (which shows its
# preview).

# %%
browser.filters.set_state(FilterState(text="head", modalities=("MR",)))
browser.series_table.pick(browser.series_table.page_ids[0])

# %% [markdown]
# ## Continue in code from `browser.selection`

# %%
selection = browser.selection
selection[["Modality", "SeriesDescription", "num_instances"]]

# %%
assert list(selection.index) == browser.series_table.picked
assert set(selection["Modality"]) == {"MR"}

# %% [markdown]
# Walk up to the study and patient of the pick, down to its images:

# %%
f.flat("series").loc[selection.index, ["PatientName", "StudyDate", "StudyDescription"]]

# %%
f.instances[f.instances["series"].isin(selection.index)][["InstanceNumber", "file_size"]]

# %% [markdown]
# And act on it, exactly as on any other selection:

# %%
result = selection.orthanc.add_label("picked-in-browser")
assert (result["status"] == "ok").all()
result

# %%
selection.orthanc.remove_label("picked-in-browser")
