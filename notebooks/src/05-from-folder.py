# %% [markdown]
# # Frames from a local folder: what is missing on the server?
#
# `Frames.from_folder(path)` reads local DICOM files into the same four frames
# and computes the same Orthanc IDs that a server would (SHA-1 of the UIDs).
# Local and server frames therefore share their keys: a set difference of
# indexes is what is missing on the server, and `.orthanc.upload(c)` sends it.

# %%
import orthanc_frames as of
from orthanc_frames.demo import connect, write_demo_cohort
from orthanc_frames.synthetic import write_cohort

c = connect()

# %% [markdown]
# A local folder: the demo cohort (already on the server) and one more
# patient that the server has never seen.

# %%
write_demo_cohort("local/demo")
write_cohort("local/new", patients=1, studies=1, series=2, instances=3, seed=2024)
local = of.Frames.from_folder("local")
local

# %%
server = c.frames()
missing = local.series.loc[local.series.index.difference(server.series.index)]
missing[["Modality", "SeriesDescription", "num_instances"]]

# %%
assert len(missing) == 2
assert local.series.index.intersection(server.series.index).size == len(local.series) - 2

# %% [markdown]
# The diff works at every level; the files behind each row are in the
# instances frame:

# %%
local.instances[local.instances["series"].isin(missing.index)][["InstanceNumber", "path"]]

# %% [markdown]
# ## Upload what is missing

# %%
uploaded = missing.orthanc.upload(c)
uploaded

# %%
assert (uploaded["status"] == "ok").all()
server.refresh()
assert local.series.index.difference(server.series.index).empty
server.flat("series").loc[missing.index, ["PatientName", "Modality", "SeriesDescription"]]

# %% [markdown]
# Leave the server as it was:

# %%
server.series.loc[missing.index].orthanc.delete(confirm=True)
