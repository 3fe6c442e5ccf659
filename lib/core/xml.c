/* SPDX-License-Identifier: MIT */
/* What libxml2's parser says while it reads an XML input of the host's (a
 * PUBLISH body, an RFC 4826 document): its structured error handler. libxml2
 * allocates through its own global allocator (xmlMemSetup() is global, so the
 * library never calls it, and libxml2 2.9 has no per-parser allocator): the
 * context's allocator cannot see those allocations, but their failures are
 * told apart here, so that a failed allocation inside libxml2 is
 * SIPPRES_E_NOMEM and not a parse error. */
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "core-private.h"

void sippres__xml_on_error(void *parser_ctxt, struct _xmlError *error)
{
	xmlParserCtxtPtr pc = parser_ctxt;
	struct sippres__xml_seen *s = pc ? pc->_private : NULL;

	/* (installing any handler also keeps libxml2 from printing to stderr,
	 * which it does for an allocation failure even with XML_PARSE_NOERROR) */
	if (!s || !error)
		return;
	if (error->code == XML_ERR_NO_MEMORY)
		s->nomem = true;
	if (error->domain == XML_FROM_NAMESPACE)
		s->ns_error = true;
}

void sippres__xml_refuse_doctype(void *parser_ctxt, const unsigned char *name, const unsigned char *ext_id,
                                 const unsigned char *sys_id)
{
	xmlParserCtxtPtr pc = parser_ctxt;
	struct sippres__xml_seen *s = pc->_private;

	(void)name;
	(void)ext_id;
	(void)sys_id;
	s->doctype = true;
	xmlStopParser(pc);
}

bool sippres__xml_nomem(void *parser_ctxt, const struct sippres__xml_seen *seen, const void *doc)
{
	xmlErrorPtr e = xmlCtxtGetLastError(parser_ctxt);

	if (seen->nomem || (e && e->code == XML_ERR_NO_MEMORY))
		return true;
	/* no document and no error told to the parser context: what failed is
	 * the input buffer's allocation, which libxml2 reports only to its
	 * global handler */
	return !doc && !seen->doctype && (!e || e->code == XML_ERR_OK);
}
