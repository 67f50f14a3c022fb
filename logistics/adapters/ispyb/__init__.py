"""Living beside ISPyB: our events projected into a real ISPyB database, and the beamline's loads read back.

`schema` creates an empty ISPyB database from Diamond's `ispyb` package (for trying it and for tests);
`projection` writes our shipments, dewars, containers and samples into ISPyB's tables; `readback`
reads what beamline software wrote there (sample-changer loads) for the service layer to record.
"""
