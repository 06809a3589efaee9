# embed_sql.cmake - the archive's migrations (IN: the .sql files, sorted) as a C table in OUT:
#   const struct ar_migration ar_migrations[]; const unsigned ar_n_migrations;
# each {version (the file name's leading number), name, sql text}.  ar_schema.h declares them.
set(body "#include \"ar_schema.h\"\n")
set(table "")
set(n 0)
foreach(f IN LISTS IN)
  get_filename_component(name ${f} NAME)
  string(REGEX MATCH "^[0-9]+" ver ${name})
  math(EXPR ver "${ver}")
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "static const char m${n}[] = {${hex} 0};\n")
  string(APPEND table "    {${ver}, \"${name}\", m${n}},\n")
  math(EXPR n "${n} + 1")
endforeach()
string(APPEND body "const struct ar_migration ar_migrations[] = {\n${table}};\n")
string(APPEND body "const unsigned ar_n_migrations = ${n};\n")
file(WRITE ${OUT} "${body}")
