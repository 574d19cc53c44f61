<?xml version="1.0" encoding="UTF-8"?>
<!--
  unanswered.xslt - the e-mail for a missed call ("unanswered") or a call
  answered by another party ("redirected"). Input: the notification document
  of docs/protocol/notify-xml.md; output: HTML. Copy it to
  CONFIG_DIR/templates/unanswered.xslt to change it; the shipped copy is
  replaced on update. A template may not read files (no xsl:include,
  xsl:import or document()).
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="html" encoding="UTF-8" indent="yes"
              doctype-public="-//W3C//DTD HTML 4.01//EN"/>

  <xsl:variable name="s" select="/notification/strings/string"/>
  <xsl:variable name="type" select="/notification/@type"/>

  <!-- A number: a link when links are on and the number is known. -->
  <xsl:template name="number">
    <xsl:param name="n"/>
    <xsl:choose>
      <xsl:when test="$n/@href != ''">
        <a href="{$n/@href}"><xsl:value-of select="$n/@display"/></a>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$n/@display"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="/notification">
    <html>
      <head>
        <meta http-equiv="Content-Type" content="text/html; charset=UTF-8"/>
        <title><xsl:value-of select="$s[@name=concat('subject_', $type)]"/></title>
        <style type="text/css">
          body { font-family: Arial, Helvetica, sans-serif; font-size: 10pt; color: #222; }
          h1 { font-size: 14pt; color: #1a4f8b; }
          table { border-collapse: collapse; }
          th { text-align: left; padding: 2px 12px 2px 0; color: #555; font-weight: normal; }
          td { padding: 2px 0; }
          .footer { margin-top: 16px; font-size: 8pt; color: #888; }
        </style>
      </head>
      <body>
        <h1><xsl:value-of select="$s[@name=concat('title_', $type)]"/></h1>
        <p><xsl:value-of select="$s[@name=concat('intro_', $type)]"/></p>
        <table>
          <tr class="caller">
            <th><xsl:value-of select="$s[@name='label_caller']"/></th>
            <td><xsl:value-of select="caller/display"/></td>
          </tr>
          <xsl:if test="caller/@hidden = 'false' and caller/number/@display != ''">
            <tr class="number">
              <th><xsl:value-of select="$s[@name='label_number']"/></th>
              <td>
                <xsl:call-template name="number">
                  <xsl:with-param name="n" select="caller/number"/>
                </xsl:call-template>
              </td>
            </tr>
          </xsl:if>
          <xsl:if test="caller/company != ''">
            <tr class="company">
              <th><xsl:value-of select="$s[@name='label_company']"/></th>
              <td><xsl:value-of select="caller/company"/></td>
            </tr>
          </xsl:if>
          <xsl:if test="caller/email != ''">
            <tr class="email">
              <th><xsl:value-of select="$s[@name='label_email']"/></th>
              <td><a href="mailto:{caller/email}"><xsl:value-of select="caller/email"/></a></td>
            </tr>
          </xsl:if>
          <tr class="time">
            <th><xsl:value-of select="$s[@name='label_time']"/></th>
            <td><xsl:value-of select="call/ringing/@date"/>&#160;<xsl:value-of select="call/ringing/@time"/></td>
          </tr>
          <tr class="ring">
            <th><xsl:value-of select="$s[@name='label_ring']"/></th>
            <td><xsl:value-of select="call/ringing/@seconds"/>&#160;<xsl:value-of select="$s[@name='label_seconds']"/></td>
          </tr>
          <tr class="line">
            <th><xsl:value-of select="$s[@name='label_line']"/></th>
            <td>
              <xsl:value-of select="line/@internal"/>
              <xsl:if test="line/@name != ''"> (<xsl:value-of select="line/@name"/>)</xsl:if>
            </td>
          </tr>
          <xsl:if test="$type = 'redirected'">
            <tr class="answered">
              <th><xsl:value-of select="$s[@name='label_answered_by']"/></th>
              <td>
                <xsl:choose>
                  <xsl:when test="answered_by/name != ''"><xsl:value-of select="answered_by/name"/></xsl:when>
                  <xsl:otherwise>
                    <xsl:call-template name="number">
                      <xsl:with-param name="n" select="answered_by/number"/>
                    </xsl:call-template>
                  </xsl:otherwise>
                </xsl:choose>
              </td>
            </tr>
          </xsl:if>
        </table>
        <xsl:if test="links/@enabled = 'true' and caller/number/@href != ''">
          <p class="callback">
            <a href="{caller/number/@href}"><xsl:value-of select="$s[@name='label_call_back']"/></a>
          </p>
        </xsl:if>
        <p class="footer"><xsl:value-of select="$s[@name='footer']"/></p>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
