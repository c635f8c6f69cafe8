"""Models of upstream behaviour, written from upstream source: each module opens with the upstream files and
version it mirrors, and with the real part that checks it where one runs in the end-to-end suite."""
