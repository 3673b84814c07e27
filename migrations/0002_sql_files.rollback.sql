DROP TABLE _sql_files;
