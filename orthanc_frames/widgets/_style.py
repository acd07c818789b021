"""The browser's CSS, delivered by an HTML widget (works in JupyterLab, Notebook 7 and Voila)."""

from __future__ import annotations

import ipywidgets as W

__all__ = ["style_widget"]

CSS = """
.of-browser { font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: 13px;
  color: #1f2933; }
.of-browser .of-header { align-items: center; border-bottom: 2px solid #2f6f9f;
  padding-bottom: 4px; margin-bottom: 6px; }
.of-browser .of-title { font-size: 16px; font-weight: 600; color: #1f4e79; }
.of-browser .of-muted { color: #6b7785; font-size: 12px; }
.of-browser .of-panel-title, .of-browser .of-table-title { font-weight: 600; color: #1f4e79;
  font-size: 13px; }
.of-browser .of-table-count { color: #6b7785; font-size: 12px; }
.of-browser .of-table { border: 1px solid #d7dee5; border-radius: 4px; padding: 4px 6px;
  margin: 0 6px 6px 0; background: #fbfcfd; flex: 1 1 340px; min-width: 320px; }
.of-browser .of-table-head { font-family: var(--jp-code-font-family, monospace); font-size: 12px;
  white-space: pre; color: #52606d; font-weight: 600; padding: 2px 0 2px 5px;
  border-bottom: 1px solid #d7dee5; overflow: hidden; }
.of-browser .of-table-rows select { font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; border: none; background: #ffffff; }
.of-browser .of-table-rows select option { padding: 2px 1px; border-bottom: 1px solid #f0f3f6; }
.of-browser .of-table-rows select option:checked,
.of-browser .of-table-rows select:focus option:checked {
  background: #cfe3f5 linear-gradient(#cfe3f5, #cfe3f5) !important; color: #102a43 !important;
  -webkit-text-fill-color: #102a43; }
.of-browser .of-table .widget-toggle-button { padding: 0; }
.of-browser .of-filters { background: #f3f6f9; border-radius: 4px; padding: 6px 4px 2px 4px;
  margin-bottom: 6px; }
.of-browser .of-preview { border: 1px solid #d7dee5; border-radius: 4px; padding: 4px 6px;
  margin: 0 6px 6px 0; }
.of-browser .of-preview-image { object-fit: contain; image-rendering: pixelated;
  background: #0b0f14; border-radius: 3px; }
.of-browser .of-tag-viewer { border: 1px solid #d7dee5; border-radius: 4px; padding: 4px 6px;
  margin: 0 0 6px 0; }
.of-browser .of-tags .widget-html-content,
.of-browser .of-action-result .widget-html-content { line-height: 1.35; }
.of-browser .of-tags-scroll, .of-browser .of-result-scroll { max-height: 260px; overflow: auto; }
.of-browser table.of-tag-table, .of-browser table.of-result-table { border-collapse: collapse;
  width: 100%; font-size: 12px; }
.of-browser table.of-tag-table th, .of-browser table.of-result-table th { text-align: left;
  position: sticky; top: 0; background: #eef2f6; padding: 2px 6px; }
.of-browser table.of-tag-table td, .of-browser table.of-result-table td { padding: 1px 6px;
  border-bottom: 1px solid #eef2f6; vertical-align: top; word-break: break-word; }
.of-browser td.of-tag, .of-browser td.of-id { font-family: var(--jp-code-font-family, monospace);
  color: #52606d; white-space: nowrap; }
.of-browser .of-actions { border: 1px solid #d7dee5; border-radius: 4px; padding: 4px 6px; }
.of-browser .of-target { font-weight: 600; margin-left: 6px; }
.of-browser .of-status-ok { color: #1e7b34; font-weight: 600; }
.of-browser .of-status-failed, .of-browser .of-error { color: #b42318; font-weight: 600; }
.of-browser .of-status-skipped, .of-browser .of-warning { color: #a15c07; font-weight: 600; }
.of-browser .of-info { color: #1f4e79; }
"""


def style_widget() -> W.HTML:
    """An invisible HTML widget carrying the browser's stylesheet."""
    widget = W.HTML(f"<style>{CSS}</style>", layout=W.Layout(height="0px", margin="0"))
    widget.add_class("of-style")
    return widget
