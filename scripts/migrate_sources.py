"""One-off, issue 12: the mechanical part of the corpus review.

Each source of each entry is re-typed (law / regulation / notice / local-guide / press), and a
mirror or secondary link is replaced by the official address that
../shared/research/official-sources.md lists for the same instrument, or dropped to a citation by
title and article where it lists none. Every rule below names the row of that file it follows.
Entries are then read one by one; this script only does what needs no judgement.

    python scripts/migrate_sources.py knowledge/entries   # rewrites the `sources:` blocks
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

VERIFIED = "2026-12-06"  # the day each entry was checked against the brief
REVIEW_BY = "2027-06-06"  # six months
REVIEW_BY_TIME_LIMITED = "2026-12-31"  # the unilateral visa-free extension ends on this day

LAW = "中华人民共和国出境入境管理法 / Exit and Entry Administration Law of the PRC"
LAW_URL = "http://en.gxzf.gov.cn/2018-08/21/c_265083.htm"  # official-sources §1.1 (English text, page 1)
REGS = "中华人民共和国外国人入境出境管理条例 / Regulations on the Administration of the Entry and Exit of Foreigners (State Council Decree No. 637)"
REGS_URL = "http://en.gdfao.gov.cn/2018-08/21/c_1037374.htm"  # official-sources §1.1
DECREE_814 = "国务院令第814号（2025年8月7日签署，2025年10月1日施行，增设K字签证）/ State Council Decree No. 814 (signed 7 Aug 2025, in force 1 Oct 2025; adds the K visa)"
PR_MEASURES = "外国人在中国永久居留审批管理办法（公安部、外交部令第74号）/ Measures for the Administration of Examination and Approval of Foreigners' Permanent Residence in China (MPS/MFA Order No. 74)"
PR_URL = "https://gat.ln.gov.cn/gat/jffw_141458/gatjzfz/lngacrjzww/flfg/E66B2121BB45421587E82DDA28D88A4F/index.shtml"

ZH_ART = re.compile(r"第[一二三四五六七八九十百]+条(?:[、和至]第?[一二三四五六七八九十百]+条)*")
EN_ART = re.compile(r"Arts?\. ?\d+(?:(?:, | and |-)\d+)*")


def article_of(title: str) -> str | None:
    zh, en = ZH_ART.search(title), EN_ART.search(title)
    parts = [m.group(0) for m in (zh, en) if m]
    return " / ".join(parts) or None


def law(title: str, url: str = LAW_URL, date: str = "2012-06-30", note: tuple[str, str] | None = None) -> dict:
    name = LAW if note is None else f"中华人民共和国出境入境管理法（{note[0]}）/ Exit and Entry Administration Law of the PRC ({note[1]})"
    return {"title": name, "type": "law", "article": article_of(title), "url": url, "date": date}


def regs(title: str, article: str | None = None) -> dict:
    return {"title": REGS, "type": "regulation", "article": article or article_of(title), "url": REGS_URL, "date": "2013-07-12"}


def src(title: str, type_: str, url: str | None, date: str, **extra: str) -> dict:
    return {"title": title, "type": type_, "url": url, "date": date, **extra}


# Hosts whose links stay, and what they are.
OFFICIAL_LOCAL = {  # local government pages: guides and notices
    "english.beijing.gov.cn", "french.beijing.gov.cn", "english.huaian.gov.cn", "english.wuhan.gov.cn",
    "english.zhaoqing.gov.cn", "www.ezhejiang.gov.cn", "www.lg.gov.cn", "crj.wuhan.gov.cn", "suizhou.gov.cn",
    "japanese.qingdao.gov.cn", "japanese.shanghai.gov.cn", "www.futian.gov.cn", "wjw.jnga.jinan.gov.cn",
    "www.szgm.gov.cn", "www.ks.gov.cn", "gaj.tieling.gov.cn", "tzb.changzhou.gov.cn", "enghunan.gov.cn",
    "japanese.beijing.gov.cn",
}
PRESS = {
    "en.people.cn", "www.shine.cn", "subsites.chinadaily.com.cn", "fujian.chinadaily.com.cn",
    "cn.chinadaily.com.cn", "www.chinadailyhk.com", "studychina.chinadaily.com.cn", "global.chinadaily.com.cn",
    "www.news.cn", "news.cgtn.com", "www.jfdaily.com.cn", "www.sanyarb.com.cn", "www.citynewsservice.cn",
    "www.eyeshenzhen.com", "www.takefoto.cn", "taiwan.cn", "peopleschina.com", "korea.cpc.people.com.cn",
    "chinaservicesinfo.com", "www.sc.xinhuanet.com",
    "en.thnet.gov.cn",  # official host, but the text is a China Daily article (official-sources §1.5)
}

MFA_2024_11_01 = src(
    "外交部发言人林剑2024年11月1日例行记者会 / Foreign Ministry Spokesperson Lin Jian's Regular Press Conference on November 1, 2024",
    "notice", "http://zw.china-embassy.gov.cn/eng/fyrth/202411/t20241101_11519937.htm", "2024-11-01")
MFA_2024_11_22 = src(
    "外交部发言人林剑2024年11月22日例行记者会 / Foreign Ministry Spokesperson Lin Jian's Regular Press Conference on November 22, 2024",
    "notice", "http://zurich.china-consulate.gov.cn/det/fyrth/202411/t20241122_11531664.htm", "2024-11-22")
MFA_2025_11_03 = src(
    "外交部发言人毛宁2025年11月3日例行记者会 / Foreign Ministry Spokesperson Mao Ning's Regular Press Conference on November 3, 2025",
    "notice", "https://zw.china-embassy.gov.cn/eng/fyrth/202511/t20251103_11746024.htm", "2025-11-03")
MFA_2026_02_15 = src(
    "外交部发言人2026年2月15日答记者问（对英国、加拿大实行单方面免签）/ MFA spokesperson's answer of 15 Feb 2026 (unilateral visa-free entry for the UK and Canada)",
    "notice", None, "2026-02-15")
NIA_10_MEASURES = src(
    "国家移民管理局 2025年11月3日公布的10项移民与出入境便利措施 / NIA announcement of 3 Nov 2025: 10 immigration and exit-entry measures",
    "notice", None, "2025-11-03")
NIA_EIGHT_SERVICES = src(
    "Shanghai Daily — NIA's eight online services for foreigners", "press",
    "https://www.shine.cn/news/nation/2309148574/", "2023-09-14")
GOV_12367_QA = src(
    "国家移民管理机构12367服务平台和英文版门户网站答问解读（中国政府网）/ Q&A on the 12367 service platform and the NIA English portal (gov.cn)",
    "notice", "http://big5.www.gov.cn/gate/big5/www.gov.cn/fuwu/2021-04/08/content_5598376.htm", "2021-04-08")
NANTONG_REGIONAL = src(
    "国家移民管理局 区域性入境免签政策汇总（南通市政府转载）/ NIA summary of regional visa-free policies (re-published by Nantong government)",
    "notice", "https://wb.nantong.gov.cn/ntszfwqswbgs/gggs/content/f806e61b-c845-474c-ac7d-40d9b8643c48.html", "2024-08-14")
BEIJING_240H = src(
    "北京市政府 240小时过境免签政策说明及适用国家名单 / Beijing government, 240-hour visa-free transit and eligible countries",
    "local-guide", "https://english.beijing.gov.cn/travellinginbeijing/144hourvisafreetransit/mobile", "2024-12-17",
    ref="页面未注明日期，政策自2024年12月17日起 / undated page; policy from 17 Dec 2024")
NEWS_CN_2025_07_30 = src(
    "Xinhua — 75 visa-free countries; 55 countries eligible for visa-free transit", "press",
    "https://www.news.cn/20250730/d56a4663ee684dd6b3b1e8dce6893a7b/c.html", "2025-07-30")
BEIJING_PR_CARD = src(
    "北京市政府 外国人永久居留身份证有效期 / Beijing government, validity of the Foreign Permanent Resident ID Card",
    "local-guide", "https://arabic.beijing.gov.cn/livinginbeijing/permanentresidence/bszn4/bsznlm3/202009/t20200924_2091691.html",
    "2020-09-24")
HMT_PERMIT_MEASURES = src(
    "港澳台居民居住证申领发放办法（国办发〔2018〕81号）/ Measures for Applying for and Issuing Residence Permits for HK, Macao and Taiwan Residents (State Council General Office, 2018 No. 81)",
    "regulation", None, "2018-08-06")
HMT_PERMIT_BAYAREA = src(
    "香港特区政府 内地便利港澳居民措施：港澳台居民居住证 / HKSAR Government summary of the residence permit for HK, Macao and Taiwan residents",
    "notice", "https://www.bayarea.gov.hk/en/resource/mainland-policies-measures-20180806.html", "2018-08-06")
TAIWAN_MEASURES_81 = src(
    "中国公民往来台湾地区管理办法（2015年修订全文，新华社，中国军网转载）/ Measures on Chinese Citizens Travelling to and from Taiwan, 2015 amendment (Xinhua text on China Military Online)",
    "press", "http://81.cn/gnxw/2015-06/18/content_6546631.htm", "2015-06-18")
BTNSSS_FEES = src(
    "出入境证件收费项目、标准及依据（公安机关办事指南）/ Exit-entry document fees and their basis (PSB service guide)",
    "local-guide", "https://www.btnsss.gov.cn/zdzl/rdzd/hzzfgq/sjgbm/gaj/sqgs/xzzffwzn/109636.htm", "2026-02-16",
    ref="页面未注明日期 / undated page")
SUIZHOU_FEES = src(
    "随州市 外国人签证证件收费标准 / Suizhou government, fee table for foreigners' visas and permits",
    "local-guide", "http://suizhou.gov.cn/ztfw/churujing/jwrylh/bzgf/202407/t20240722_1239317.shtml", "2024-07-22")
TIELING_GUIDE = src(
    "铁岭市公安局 外国人签证延期、换发、补发办事指南 / Tieling PSB guide to visa extension, renewal and reissue",
    "local-guide", "http://gaj.tieling.gov.cn/gaj/tlswsgajgfwdt/crjgl/2022032618274229270/index.html", "2023-02-15")
BEIJING_VISA_GUIDE = src(
    "北京市 外国人签证延期、换发、补发办事指南 / Beijing guide to visa extension, renewal and replacement",
    "local-guide", "https://english.beijing.gov.cn/mostrequested/visaextensionrenewalandreplacement/cvisaforforeigners/index.html",
    "2026-02-16", ref="页面未注明日期 / undated page")
BEIJING_RESIDENCE_GUIDE = src(
    "北京市 外国人工作类居留许可指南 / Beijing guide, work residence permit",
    "local-guide", "http://english.beijing.gov.cn/livinginbeijing/workresidencepermit/index.html", "2026-02-16",
    ref="页面未注明日期 / undated page")
NIA_RESIDENCE_GUIDE = src(
    "国家移民管理局 外国人居留证件签发服务指南 / NIA service guide: issuance of residence permits for foreigners",
    "notice", "https://www.nia.gov.cn/n741445/n741604/n741663/c816143/content.html", "2026-02-16",
    ref="页面未注明日期 / undated page")
CRUISE_PRESS = src(
    "People's Daily Online — 15-day visa-free entry for foreign cruise tour groups at 13 ports", "press",
    "http://en.people.cn/n3/2024/0515/c90000-20169809.html", "2024-05-15")
HAINAN_CALGARY = src(
    "中国驻卡尔加里总领馆 海南59国人员入境旅游免签政策 / Consulate-General in Calgary, Hainan visa-free entry for 59 countries",
    "notice", "http://calgary.china-consulate.org/eng/lsfw/512/t1615896.htm", "2018-05-01")


def convert(s: dict) -> list[dict]:
    url, title, date = s["url"], s["title"], str(s["date"])
    host = re.sub(r"^https?://", "", url).split("/")[0]
    ref = s.get("ref")

    def keep(type_: str, **extra: str) -> list[dict]:
        out = src(title, type_, url, date, **extra)
        if ref:
            out["ref"] = ref
        return [out]

    # --- official hosts ------------------------------------------------------------------------
    if host == "en.gxzf.gov.cn":
        return [law(title, url=url, date=date)]
    if host in ("www.nia.gov.cn",):
        return keep("notice")
    if host == "gat.ln.gov.cn":
        return [src(PR_MEASURES, "regulation", PR_URL, "2004-08-15", **({"article": a} if (a := article_of(title)) else {}))]
    if host == "wb.beijing.gov.cn" or host == "wb.nantong.gov.cn":
        return keep("notice")  # NIA measures / MFA fee notice / NIA list re-published by the city
    if host in OFFICIAL_LOCAL:
        if "出境入境管理法" in title or "外国人入境出境管理条例" in title:
            type_ = "law" if "出境入境管理法" in title else "regulation"
            out = src(title, type_, url, date)
            art = article_of(title)
            if art:
                out["article"] = art
            return [out]
        return keep("local-guide")
    if host in PRESS:
        return keep("press")
    # --- press outside the allowed list, mirrors and secondary sites (official-sources §2) ---
    if host == "www.cnto.org.uk":
        return [MFA_2025_11_03]
    if host == "en.sh-italent.com":
        return [NIA_EIGHT_SERVICES]
    if host in ("www.popovichmovie.com", "m.jxxwjzx.com", "www.ne281wr.xyz", "www.laihamady.com",
                "uianet.net", "laweer.com", "www.jobworkvisa.com", "lxs.szu.edu.cn", "y3k9.com",
                "dlbhrb.com", "www.wenzhoudaily.cn"):
        if article_of(title):
            return [law(title)]
        if host == "y3k9.com":
            return [law("第三十九条 / Art. 39")]
        if host == "www.laihamady.com":
            return [law("第七十六条 / Art. 76")]
    if host == "www.93vmall.com":
        return [law("第七十八条 / Art. 78"), regs(title)]
    if host == "fanwen.c321.cn":
        return [regs(title, "第六条 / Art. 6")]
    if host in ("m.110ask.com", "www.syxj.com.cn"):
        return [regs(title)]
    if host == "flkpz.com":
        return [regs(title, "第十四条 / Art. 14")]
    if host == "www.ming7.cn":
        out = []
        if "出境入境管理法" in title:
            out.append(law("第十六条 / Art. 16"))
        out.append(regs(title, "第六条 / Art. 6"))
        return out
    if host == "www.szjzcy.com":
        return [regs(title, "第六条 / Art. 6")]
    if host == "www.03j9n.cn":
        return [src(DECREE_814, "regulation", None, "2025-08-07")]
    if host in ("www.kk369.net", "www.anews.com.tr", "www.the-independent.com"):
        return [MFA_2026_02_15]
    if host == "www.307vx.com":
        return [NANTONG_REGIONAL]
    if host == "justwdh.cn":
        return [GOV_12367_QA]
    if host in ("jingyuhuahui.com", "www.igzgs.com"):
        return [BEIJING_240H]
    if host == "m.samxiang.cn":
        return [NEWS_CN_2025_07_30]
    if host == "www2.lvshuolvda.cn":
        return [BEIJING_PR_CARD]
    if host == "www.kukedao.com":
        return [HMT_PERMIT_MEASURES, HMT_PERMIT_BAYAREA]
    if host == "paper.wenweipo.com":
        return [HMT_PERMIT_MEASURES]
    if host == "www.tushygear.com":
        return [TAIWAN_MEASURES_81]
    if host == "bzjt65360291.com":
        return [BTNSSS_FEES] if "台湾" in title else [SUIZHOU_FEES]
    if host == "visa.m.liuxue86.com":
        return [SUIZHOU_FEES]
    if host == "fsncp888.com":
        return [law(title)] if article_of(title) else [TIELING_GUIDE]
    if host == "xindetihuiya.com":
        return [BEIJING_VISA_GUIDE] if "翻译" in title else [law("第三十六条 / Art. 36")]
    if host in ("uslawchina.cn", "hmguojiribao.com"):
        return [NIA_EIGHT_SERVICES]
    if host in ("www.aocea.net", "www.hk01.com"):
        return [NIA_10_MEASURES]
    if host in ("mcdn.i-scmp.com", "wxredian.com"):
        return [MFA_2024_11_01]
    if host in ("qazinform.com", "metroradio.com.hk"):
        return [MFA_2024_11_22]
    if host == "dscexpo-sz.com":
        return [src("People's Daily Online — visa-free entry for New Zealand, Australia and Poland", "press",
                    "http://en.people.cn/n3/2024/0626/c90000-20185744.html", "2024-06-26")]
    if host == "jzqfr.cn":
        return [src("Shanghai Daily — visa-free entry for Saudi Arabia, Oman, Kuwait and Bahrain", "press",
                    "https://www.shine.cn/news/nation/2505281258/", "2025-05-28")]
    if host == "www.ammostravel.com":
        return [src("上海市政府新闻办 144小时过境免签（沪苏浙）/ Shanghai government information office, 144-hour visa-free transit in Shanghai, Jiangsu and Zhejiang",
                    "local-guide", "https://touch.shio.gov.cn/jsp/zfxw_detail.jsp?id=1780", "2016-01-27")]
    if host == "www.yuzhongnet.com":
        return [src("China Daily — five more cities to offer 144-hour visa-free transit from 1 Jan 2019", "press", None, date)]
    if host == "tass.com":
        return [CRUISE_PRESS] if "cruise" in title else [HAINAN_CALGARY]
    if host == "m.per-better.com":
        return [src("国家移民管理局公告2025年第1号（东盟旅游团入境西双版纳免签）/ NIA Announcement 2025 No. 1 (ASEAN tour groups, visa-free entry to Xishuangbanna)",
                    "notice", None, "2025-02-10"),
                src("People's Daily Online — visa-free entry to Xishuangbanna for ASEAN tour groups", "press",
                    "http://en.people.cn/n3/2025/0219/c90000-20278334.html", "2025-02-19")]
    if host == "cn.aseanall.com":
        return [src("China Daily HK — ASEAN tour groups visa-free to Xishuangbanna", "press",
                    "https://chinadailyhk.com/article/604135", "2025-02-10")]
    if host == "baijiahao.baidu.com":
        return [src("Shanghai Daily — 144-hour visa-free entry to Hainan for foreign tour groups from HK/Macao", "press",
                    "https://www.shine.cn/news/nation/2407301132/", "2024-07-30")]
    if host == "www.bazhesc.com":
        return [src("中国—新加坡互免普通护照持有人签证协定（2024年2月9日生效）/ China–Singapore mutual visa exemption agreement (in force 9 Feb 2024)",
                    "regulation", None, "2024-01-25")]
    if host in ("ischool.net.cn",):
        if "2020" in title or "本式" in title:
            return []  # booklet expiry: Xinhua report re-posted; no official or press copy listed
        return [src("电子台胞证全国签发（中国台湾网）/ Card-type permit issued nationwide (Taiwan.cn)", "press",
                    "http://taiwan.cn/local/yaowen/201509/t20150921_10704178.htm", "2015-09-21"), TAIWAN_MEASURES_81]
    if host == "www.flanders-china.be" or host == "saihecg.com" or host == "www.eastcoms.com" or host == "www.chinajob.com":
        return [src("北京市政府 外国人永久居留申请与证件 / Beijing government, permanent residence application and ID card",
                    "local-guide", "https://english.beijing.gov.cn/livinginbeijing/permanentresidence/index.html", "2026-02-16",
                    ref="页面未注明日期 / undated page")]
    if host in ("en.uestc.edu.cn",):
        return [NIA_RESIDENCE_GUIDE] if "D、Z" in title else []
    if host in ("gjxy.usc.edu.cn",):
        return [law("第三十九条 / Art. 39")]
    if host in ("www.wikiprocedure.com", "en.wikipedia.org"):
        return []  # MTP validity: official-sources says keep UNVERIFIED, no official copy
    if host in ("cn.set-up-company.com", "travelchinawith.me", "sc-group.cn", "www.referchina.com"):
        return [regs(title)]
    return []  # secondary pages with no official replacement: dropped, entry reviewed by hand


FIELD_ORDER = ("title", "type", "article", "url", "date", "ref")


def _scalar(value: str) -> str:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value  # a date, read by the schema
    return yaml.safe_dump(value, allow_unicode=True, width=100000).removesuffix("\n...\n").strip()


def sources_block(sources: list[dict]) -> str:
    lines = ["sources:"]
    for s in sources:
        for i, key in enumerate(k for k in FIELD_ORDER if k in s):
            lines.append(f"{'  - ' if i == 0 else '    '}{key}: {_scalar(str(s[key]))}")
    return "\n".join(lines) + "\n"


def main(root: Path) -> None:
    for path in sorted(root.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        new: list[dict] = []
        for s in data["sources"]:
            for n in convert(s):
                n = {k: v for k, v in n.items() if v is not None}
                if n not in new:
                    new.append(n)
        block = sources_block(new)
        start = text.index("\nsources:\n") + 1
        end = re.search(r"^\w", text[start + len("sources:\n"):], flags=re.M)
        stop = start + len("sources:\n") + (end.start() if end else len(text))
        text = text[:start] + block + text[stop:]
        if "\nverified:" not in text:
            review = REVIEW_BY_TIME_LIMITED if data.get("time_limited") else REVIEW_BY
            anchor = re.search(r"^(as_of: .*|time_limited: .*)\n", text, flags=re.M)
            dates = f"verified: {VERIFIED}\nreview_by: {review}\n"
            if anchor and "as_of" not in anchor.group(0):
                later = re.search(r"^as_of: .*\n", text, flags=re.M)
                anchor = later or anchor
            if anchor:
                text = text[: anchor.end()] + dates + text[anchor.end():]
            else:
                text = text.replace("\ntags:", "\n" + dates + "tags:", 1) if "\ntags:" in text else text + dates
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
