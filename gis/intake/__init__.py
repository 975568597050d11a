"""Safe intake of surveyors' files: an uploaded file in, parcels in EPSG:9214 out.

:func:`gis.intake.upload.read_upload` is the one entry point; the rest are its parts:
recognising the content (``sniff``), vetting archives (``archives``), the format readers
(``geojson``, ``kml``, ``coord_table``, and GDAL's formats through ``gdal_formats`` and
its sandbox ``gdal_sandbox``), mapping attribute names (``attributes``), recognising
CRS mistakes (``crs_guess``), the typed refusals (``errors``) and the values they share
(``types``).
"""
