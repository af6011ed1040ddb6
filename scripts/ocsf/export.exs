# The OCSF server's own JSON Schema export, without the web server: loads a compiled (browser mode)
# schema with Schema.SingleRepo, then for each class does what GET /schema/classes/CLASS?profiles=...
# does (SchemaWeb.SchemaController.json_class): Schema.class_with_referenced_objects_filter_profiles,
# then Schema.JsonSchema.encode. Run by scripts/ocsf-jsonschema.sh with the server's modules compiled.
#
#   elixir -pa EBIN export.exs COMPILED_SCHEMA OUTDIR PROFILES CLASS...   (PROFILES: comma-separated)
[schema_file, outdir, profiles | classes] = System.argv()
Logger.configure(level: :warning)
{:ok, _} = Schema.SingleRepo.start_link(schema_file)
profiles = String.split(profiles, ",", trim: true)

for class <- classes do
  data = Schema.class_with_referenced_objects_filter_profiles(String.to_atom(class), profiles)
  if data == nil, do: raise("no class #{class} in #{schema_file}")
  json = Schema.JsonSchema.encode(data, nil) |> Jason.encode!(pretty: true)
  File.write!(Path.join(outdir, class <> ".json"), json <> "\n")
end
