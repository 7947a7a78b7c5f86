/*
 * Every vendor table's descriptor, in the order the tables are registered: a new vendor is one
 * line here (docs/adding-a-vendor.md). Each line names `<table>_provider`, defined in its file
 * under ext/providers/. Included by ext/interactions.c with IX_PROVIDER defined: no include guard.
 */
IX_PROVIDER(capillary_interactions)
IX_PROVIDER(capillary_summary)
IX_PROVIDER(cxengage_interactions)
IX_PROVIDER(alpharun_interactions)
IX_PROVIDER(optimove_interactions)
IX_PROVIDER(which50_interactions)
